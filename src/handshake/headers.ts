/**
 * Header fields for the opening handshake: a case-insensitive multimap that cannot reach the
 * prototype chain (`__proto__`, `constructor` are ordinary names here), and the linear-time
 * parsers for the list-valued headers the handshake reads: comma-separated token lists
 * (`Connection`, `Upgrade`, `Sec-WebSocket-Protocol`) and extension offers with parameters
 * (`Sec-WebSocket-Extensions`, RFC 6455 §9.1). No regular expressions run on header values.
 */

/** Header fields, names compared case-insensitively, in arrival order. */
export class HeaderMap {
  // Flat arrays, looked up by linear scan: a handshake has a few dozen fields at most, and this
  // allocates no per-name containers.
  private readonly names: string[] = [];
  private readonly values: string[] = [];

  /** Add a field; repeated names keep every value. */
  append(name: string, value: string): void {
    this.names.push(name);
    this.values.push(value);
  }

  /** Every value of `name`, in order; empty when absent. */
  getAll(name: string): readonly string[] {
    const found: string[] = [];
    for (let i = 0; i < this.names.length; i++) if (sameName(this.names[i]!, name)) found.push(this.values[i]!);
    return found;
  }

  /** The values of `name` joined by ", " (RFC 9110 §5.3), or undefined when absent. */
  get(name: string): string | undefined {
    let joined: string | undefined;
    for (let i = 0; i < this.names.length; i++) {
      if (sameName(this.names[i]!, name)) joined = joined === undefined ? this.values[i]! : `${joined}, ${this.values[i]!}`;
    }
    return joined;
  }

  /** The value of a field that must appear at most once: undefined when absent, null when repeated. */
  getSingle(name: string): string | undefined | null {
    let found: string | undefined;
    for (let i = 0; i < this.names.length; i++) {
      if (!sameName(this.names[i]!, name)) continue;
      if (found !== undefined) return null;
      found = this.values[i]!;
    }
    return found;
  }

  /** Whether `name` is present. */
  has(name: string): boolean {
    for (let i = 0; i < this.names.length; i++) if (sameName(this.names[i]!, name)) return true;
    return false;
  }

  /** All fields as [lower-case name, value] pairs, in arrival order. */
  *entries(): IterableIterator<[string, string]> {
    for (let i = 0; i < this.names.length; i++) yield [this.names[i]!.toLowerCase(), this.values[i]!];
  }

  /** `[name, value, name, value, …]` with the names as received, like Node's `req.rawHeaders`. */
  raw(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.names.length; i++) out.push(this.names[i]!, this.values[i]!);
    return out;
  }

  /** A plain object (null prototype) of lower-case names to joined values, like Node's `req.headers`. */
  toObject(): Record<string, string> {
    const object = Object.create(null) as Record<string, string>;
    for (let i = 0; i < this.names.length; i++) {
      const name = this.names[i]!.toLowerCase();
      const previous = object[name];
      object[name] = previous === undefined ? this.values[i]! : `${previous}, ${this.values[i]!}`;
    }
    return object;
  }

  /** Build from Node's `rawHeaders` layout: [name, value, name, value, …]. */
  static fromRaw(raw: readonly string[]): HeaderMap {
    const map = new HeaderMap();
    for (let i = 0; i + 1 < raw.length; i += 2) map.append(raw[i]!, raw[i + 1]!);
    return map;
  }
}

/** ASCII case-insensitive equality of two header names, without allocating. */
function sameName(a: string, b: string): boolean {
  return a.length === b.length && sameNameAt(a, 0, b);
}

/** Whether `text` holds `name` at `offset`, ASCII case-insensitively. */
function sameNameAt(text: string, offset: number, name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const x = text.charCodeAt(offset + i);
    const y = name.charCodeAt(i);
    if (x === y) continue;
    const lower = x | 0x20;
    if (lower !== (y | 0x20) || lower < 0x61 || lower > 0x7a) return false;
  }
  return true;
}

const isOws = (c: number) => c === 0x20 || c === 0x09;

/** Split a comma-separated list, trimming optional whitespace and dropping empty elements (RFC 9110 §5.6.1). */
export function parseList(value: string): string[] {
  const items: string[] = [];
  let start = 0;
  for (let i = 0; i <= value.length; i++) {
    if (i === value.length || value.charCodeAt(i) === 0x2c) {
      let a = start;
      let b = i;
      while (a < b && isOws(value.charCodeAt(a))) a++;
      while (b > a && isOws(value.charCodeAt(b - 1))) b--;
      if (b > a) items.push(value.slice(a, b));
      start = i + 1;
    }
  }
  return items;
}

/** Whether the comma-separated list in `value` contains `token` (ASCII, case-insensitive), scanning in place. */
export function listHasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  let start = 0;
  for (let i = 0; i <= value.length; i++) {
    if (i !== value.length && value.charCodeAt(i) !== 0x2c) continue;
    let a = start;
    let b = i;
    while (a < b && isOws(value.charCodeAt(a))) a++;
    while (b > a && isOws(value.charCodeAt(b - 1))) b--;
    if (b - a === token.length && sameNameAt(value, a, token)) return true;
    start = i + 1;
  }
  return false;
}

/** Whether every character of `text` is a token character (RFC 9110 §5.6.2). */
export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || !TOKEN_CHARS.has(c)) return false;
  }
  return true;
}
const TOKEN_CHARS = new Set(Array.from("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", (c) => c.charCodeAt(0)));

/** One extension offer or response: `name; param; param=value`. Parameter values are unquoted. */
export interface ExtensionOffer {
  readonly name: string;
  /** Parameters in order; `true` for a parameter without a value. Repeated names are kept. */
  readonly params: readonly (readonly [string, string | true])[];
}

/**
 * Parse a `Sec-WebSocket-Extensions` value (RFC 6455 §9.1):
 * `extension-list = 1#extension; extension = name *( ";" param ); param = token [ "=" (token | quoted-string) ]`.
 *
 * @returns the offers in order, or null when the value is malformed
 */
export function parseExtensions(value: string): ExtensionOffer[] | null {
  const offers: ExtensionOffer[] = [];
  let i = 0;
  const n = value.length;
  const skipOws = () => {
    while (i < n && isOws(value.charCodeAt(i))) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && value.charCodeAt(i) < 128 && TOKEN_CHARS.has(value.charCodeAt(i))) i++;
    return value.slice(start, i);
  };
  while (i < n) {
    skipOws();
    if (i < n && value.charCodeAt(i) === 0x2c) {
      i++;
      continue;
    }
    if (i >= n) break;
    const name = readToken();
    if (name === '') return null;
    const params: [string, string | true][] = [];
    skipOws();
    while (i < n && value.charCodeAt(i) === 0x3b) {
      i++;
      skipOws();
      const param = readToken();
      if (param === '') return null;
      skipOws();
      let paramValue: string | true = true;
      if (i < n && value.charCodeAt(i) === 0x3d) {
        i++;
        skipOws();
        if (i < n && value.charCodeAt(i) === 0x22) {
          i++;
          let text = '';
          while (i < n && value.charCodeAt(i) !== 0x22) {
            if (value.charCodeAt(i) === 0x5c) i++;
            if (i >= n) return null;
            text += value[i];
            i++;
          }
          if (i >= n) return null;
          i++;
          // "the value ... MUST conform to the ABNF for token" even when quoted (RFC 6455 §9.1)
          if (!isToken(text)) return null;
          paramValue = text;
        } else {
          paramValue = readToken();
          if (paramValue === '') return null;
        }
        skipOws();
      }
      params.push([param, paramValue]);
    }
    if (i < n && value.charCodeAt(i) !== 0x2c) return null;
    offers.push({ name, params });
  }
  return offers;
}

/** Serialize extension offers or responses for a `Sec-WebSocket-Extensions` header. */
export function formatExtensions(offers: readonly ExtensionOffer[]): string {
  return offers
    .map((offer) => [offer.name, ...offer.params.map(([k, v]) => (v === true ? k : `${k}=${v}`))].join('; '))
    .join(', ');
}
