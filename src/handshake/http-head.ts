/**
 * Incremental HTTP/1.1 message-head parser (RFC 9112 §2–§5) for the WebSocket opening handshake:
 * request heads on the server, response heads on the client. Bytes arrive in chunks of any size;
 * the parser scans each byte once (linear time, no regular expressions on input), enforces limits
 * on line length, header count and total head size as the bytes arrive, and hands back the bytes
 * that followed the head (the first WebSocket frames) untouched. Strict by design: bare LF, obs-fold,
 * whitespace before a colon, control characters and non-token names are rejected. It parses; it
 * does not decide whether a request is a valid WebSocket handshake.
 */
import { HeaderMap } from './headers.js';

/** Limits of an {@link HttpHeadParser}. */
export interface HttpHeadLimits {
  /** Longest request/status line or header line, in bytes. Default 8 KiB. */
  readonly maxLineLength?: number;
  /** Most header fields. Default 100. */
  readonly maxHeaders?: number;
  /** Largest head (all lines with their CRLFs), in bytes. Default 16 KiB. */
  readonly maxHeadSize?: number;
}

/** A parsed request head. */
export interface RequestHead {
  readonly kind: 'request';
  readonly method: string;
  /** The request-target as sent, e.g. `/chat?room=1`. */
  readonly target: string;
  /** e.g. `1.1` */
  readonly version: string;
  readonly headers: HeaderMap;
}

/** A parsed response head. */
export interface ResponseHead {
  readonly kind: 'response';
  readonly version: string;
  readonly status: number;
  readonly reason: string;
  readonly headers: HeaderMap;
}

/** Why a head was rejected, with the HTTP status a server should answer with. */
export class HttpParseError extends Error {
  override name = 'HttpParseError';
  /** 400, 414 (request line too long), 431 (headers too large) or 505 (version). */
  readonly status: number;
  /**
   * @param status - HTTP status to answer with
   * @param message - lower-case description
   */
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Outcome of feeding a chunk to the parser. */
export type HttpHeadResult<T> =
  | { readonly done: false }
  | { readonly done: true; readonly head: T; readonly rest: Uint8Array }
  | { readonly done: true; readonly error: HttpParseError };

const CR = 0x0d;
const LF = 0x0a;

/** RFC 9110 §5.6.2 tchar. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** Whether a byte may appear in a token (header name, method). */
export function isTokenByte(b: number): boolean {
  return b < 128 && TCHAR[b] === 1;
}

/** Whether a byte may appear in a field value: VCHAR, obs-text, SP or HTAB (RFC 9110 §5.5). */
function isFieldValueByte(b: number): boolean {
  return b === 0x09 || (b >= 0x20 && b !== 0x7f);
}

/** Parses one message head. Create one per connection attempt. */
export class HttpHeadParser<T extends RequestHead | ResponseHead> {
  private readonly kind: T['kind'];
  private readonly maxLineLength: number;
  private readonly maxHeaders: number;
  private readonly maxHeadSize: number;
  private buffered: Uint8Array = new Uint8Array(0);
  private length = 0;
  /** Index of the next byte to scan for line ends. */
  private scanned = 0;
  private lineStart = 0;
  /** End of the start line (-1 until it is complete). */
  private startLineEnd = -1;
  private fieldCount = 0;
  /** Per field: name start, name end, value start, value end (offsets into the head). */
  private readonly fields: number[] = [];
  /** Whether any byte of the head so far is ≥ 0x80 (then strings are built byte by byte). */
  private nonAscii = false;
  private finished = false;

  /**
   * @param kind - `'request'` on a server, `'response'` on a client
   * @param limits - line, header count and head size limits
   */
  constructor(kind: T['kind'], limits: HttpHeadLimits = {}) {
    this.kind = kind;
    this.maxLineLength = limits.maxLineLength ?? 8192;
    this.maxHeaders = limits.maxHeaders ?? 100;
    this.maxHeadSize = limits.maxHeadSize ?? 16384;
  }

  /** Feed the next chunk. Once a result with `done: true` came back, further input is an error. */
  push(chunk: Uint8Array): HttpHeadResult<T> {
    if (this.finished) return { done: true, error: new HttpParseError(400, 'input after the head') };
    // The usual case, a head that arrives in one chunk, is parsed in place: nothing is copied.
    const inPlace = this.length === 0;
    if (!inPlace) this.append(chunk);
    const bytes = inPlace ? chunk : this.buffered;
    const end = inPlace ? chunk.length : this.length;
    for (let i = this.scanned; i < end; i++) {
      // Limits are enforced at the byte that breaks them, so the verdict never depends on how the
      // input was split into chunks.
      if (i >= this.maxHeadSize) return this.fail(431, 'head too large');
      if (i - this.lineStart >= this.maxLineLength && bytes[i] !== CR) return this.tooLong();
      const b = bytes[i]!;
      if (b === LF) return this.fail(400, 'bare LF in head');
      if (b !== CR) {
        if (b >= 0x80) this.nonAscii = true;
        continue;
      }
      if (i + 1 >= end) {
        this.scanned = i;
        return this.incomplete(inPlace, chunk);
      }
      if (bytes[i + 1] !== LF) return this.fail(400, 'CR without LF in head');
      // The LF counts toward the head size too.
      if (i + 1 >= this.maxHeadSize) return this.fail(431, 'head too large');
      const lineLength = i - this.lineStart;
      if (lineLength === 0) {
        if (this.startLineEnd === -1) return this.fail(400, 'empty start line');
        this.finished = true;
        return this.complete(bytes, i, end);
      }
      if (this.startLineEnd === -1) {
        this.startLineEnd = i;
        // Judge the start line at its CRLF: a peer that answers `foo\r\n` is refused now, not
        // when the handshake timer fires.
        const start = this.nonAscii ? latin1(bytes, 0, i) : asciiDecoder.decode(bytes.subarray(0, i));
        const parsed = this.kind === 'request' ? parseRequestLine(start) : parseStatusLine(start);
        if (parsed instanceof HttpParseError) {
          this.finished = true;
          return { done: true, error: parsed };
        }
      } else {
        if (++this.fieldCount > this.maxHeaders) return this.fail(431, 'too many header fields');
        const error = scanFieldLine(bytes, this.lineStart, i, this.fields);
        if (error !== null) {
          this.finished = true;
          return { done: true, error };
        }
      }
      i++;
      this.lineStart = i + 1;
    }
    this.scanned = end;
    return this.incomplete(inPlace, chunk);
  }

  private incomplete(inPlace: boolean, chunk: Uint8Array): HttpHeadResult<T> {
    // Keep the bytes of a head that continues in the next chunk (offsets stay valid: same start).
    if (inPlace) this.append(chunk);
    return { done: false };
  }

  private tooLong(): HttpHeadResult<T> {
    return this.startLineEnd === -1 && this.kind === 'request'
      ? this.fail(414, 'request line too long')
      : this.fail(431, 'header line too long');
  }

  private fail(status: number, message: string): HttpHeadResult<T> {
    this.finished = true;
    return { done: true, error: new HttpParseError(status, message) };
  }

  private append(chunk: Uint8Array): void {
    const needed = this.length + chunk.length;
    if (needed > this.buffered.length) {
      // Never hold more than the head limit plus one chunk.
      const grown = new Uint8Array(Math.max(needed, Math.min(this.buffered.length * 2 || 512, this.maxHeadSize + 4)));
      grown.set(this.buffered.subarray(0, this.length));
      this.buffered = grown;
    }
    this.buffered.set(chunk, this.length);
    this.length = needed;
  }

  /** The head ends with the empty line at `crlf`: build its strings from one decode of the head. */
  private complete(bytes: Uint8Array, crlf: number, end: number): HttpHeadResult<T> {
    const text = this.nonAscii ? latin1(bytes, 0, crlf) : asciiDecoder.decode(bytes.subarray(0, crlf));
    const headers = new HeaderMap();
    const f = this.fields;
    for (let n = 0; n < f.length; n += 4) headers.append(text.slice(f[n], f[n + 1]), text.slice(f[n + 2], f[n + 3]));
    const start = text.slice(0, this.startLineEnd);
    const restCopy = bytes.subarray(crlf + 2, end);
    if (this.kind === 'request') {
      const parsed = parseRequestLine(start);
      if (parsed instanceof HttpParseError) return { done: true, error: parsed };
      const head: RequestHead = { kind: 'request', ...parsed, headers };
      return { done: true, head: head as T, rest: restCopy };
    }
    const parsed = parseStatusLine(start);
    if (parsed instanceof HttpParseError) return { done: true, error: parsed };
    const head: ResponseHead = { kind: 'response', ...parsed, headers };
    return { done: true, head: head as T, rest: restCopy };
  }
}

const asciiDecoder = new TextDecoder('utf-8');

/** Bytes as a string, one character per byte (ISO-8859-1), for heads with obs-text. */
function latin1(bytes: Uint8Array, start: number, end: number): string {
  let text = '';
  for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]!);
  return text;
}

const isOwsByte = (b: number) => b === 0x20 || b === 0x09;

/**
 * Check a field line `name: OWS value OWS` (RFC 9112 §5) in `bytes[start..end)` and record the
 * positions of its name and trimmed value. Returns an error, or null.
 */
function scanFieldLine(bytes: Uint8Array, start: number, end: number, fields: number[]): HttpParseError | null {
  if (isOwsByte(bytes[start]!)) return new HttpParseError(400, 'obsolete line folding');
  let colon = -1;
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    if (c === 0x3a) {
      colon = i;
      break;
    }
    // "No whitespace is allowed between the field name and colon." (RFC 9112 §5.1)
    if (!isTokenByte(c)) return new HttpParseError(400, 'invalid header name');
  }
  if (colon <= start) return new HttpParseError(400, 'header line without a name');
  let valueStart = colon + 1;
  let valueEnd = end;
  while (valueStart < valueEnd && isOwsByte(bytes[valueStart]!)) valueStart++;
  while (valueEnd > valueStart && isOwsByte(bytes[valueEnd - 1]!)) valueEnd--;
  for (let i = valueStart; i < valueEnd; i++) {
    if (!isFieldValueByte(bytes[i]!)) return new HttpParseError(400, 'invalid character in header value');
  }
  fields.push(start, colon, valueStart, valueEnd);
  return null;
}

function parseRequestLine(line: string): { method: string; target: string; version: string } | HttpParseError {
  const first = line.indexOf(' ');
  const last = line.lastIndexOf(' ');
  if (first <= 0 || last === first) return new HttpParseError(400, 'malformed request line');
  const method = line.slice(0, first);
  const target = line.slice(first + 1, last);
  const protocol = line.slice(last + 1);
  for (let i = 0; i < method.length; i++) if (!isTokenByte(method.charCodeAt(i))) return new HttpParseError(400, 'invalid method');
  if (target.length === 0) return new HttpParseError(400, 'empty request target');
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return new HttpParseError(400, 'invalid request target');
  }
  const version = parseVersion(protocol);
  if (version === null) return new HttpParseError(400, 'malformed HTTP version');
  return { method, target, version };
}

function parseStatusLine(line: string): { version: string; status: number; reason: string } | HttpParseError {
  const first = line.indexOf(' ');
  if (first <= 0) return new HttpParseError(400, 'malformed status line');
  const version = parseVersion(line.slice(0, first));
  if (version === null) return new HttpParseError(400, 'malformed HTTP version');
  const code = line.slice(first + 1, first + 4);
  for (let i = 0; i < 3; i++) {
    const c = code.charCodeAt(i);
    if (!(c >= 0x30 && c <= 0x39)) return new HttpParseError(400, 'malformed status code');
  }
  const after = line.charCodeAt(first + 4);
  if (line.length > first + 4 && after !== 0x20) return new HttpParseError(400, 'malformed status line');
  return { version, status: Number(code), reason: line.slice(first + 5) };
}

/** `HTTP/1.1` → `'1.1'`; null unless it is `HTTP/<digit>.<digit>`. */
function parseVersion(text: string): string | null {
  if (text.length !== 8 || !text.startsWith('HTTP/') || text.charCodeAt(6) !== 0x2e) return null;
  const major = text.charCodeAt(5);
  const minor = text.charCodeAt(7);
  if (major < 0x30 || major > 0x39 || minor < 0x30 || minor > 0x39) return null;
  return text.slice(5);
}
