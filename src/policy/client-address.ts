/**
 * The client's address for per-address limits. Without a proxy it is the socket's peer address.
 * Behind reverse proxies every socket comes from a proxy, so with `trustProxy` the address is
 * taken from the `X-Forwarded-For` (or RFC 7239 `Forwarded: for=`) chain, read from the right and
 * skipping only hops that are trusted: a client can prepend anything to the chain, but not what
 * the trusted proxies appended. Linear-time string scanning, no regular expressions on attacker
 * input. No Node.js APIs.
 */

/**
 * Which hops to trust: `false` (default: the socket address, no header is believed), `true` (one
 * proxy in front: the last address it appended), a number of proxies in front, or a predicate
 * that says whether an address is a trusted proxy.
 */
export type TrustProxy = boolean | number | ((address: string) => boolean);

/** Longest forwarding chain looked at; longer ones are cut from the left (the untrusted end). */
const MAX_HOPS = 32;

/**
 * The client address for a request.
 *
 * @param socketAddress - the TCP peer
 * @param xForwardedFor - the `X-Forwarded-For` header, if any
 * @param forwarded - the `Forwarded` header, if any (used when `X-Forwarded-For` is absent)
 * @param trust - the `trustProxy` setting
 */
export function clientAddress(socketAddress: string, xForwardedFor: string | undefined, forwarded: string | undefined, trust: TrustProxy): string {
  if (trust === false || trust === 0) return socketAddress;
  const chain = xForwardedFor !== undefined ? splitList(xForwardedFor) : forwarded !== undefined ? forwardedFor(forwarded) : [];
  if (chain.length > MAX_HOPS) chain.splice(0, chain.length - MAX_HOPS);
  chain.push(socketAddress);
  if (typeof trust === 'function') {
    let i = chain.length - 1;
    while (i > 0 && trust(chain[i]!)) i--;
    return chain[i]!;
  }
  const hops = trust === true ? 1 : Math.max(0, Math.floor(trust));
  return chain[Math.max(0, chain.length - 1 - hops)]!;
}

/** Comma-separated entries, trimmed, empty ones dropped. */
function splitList(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i <= value.length; i++) {
    if (i === value.length || value.charCodeAt(i) === 0x2c) {
      const entry = value.slice(start, i).trim();
      if (entry.length !== 0) out.push(entry);
      start = i + 1;
    }
  }
  return out;
}

/** The `for=` node of each element of a `Forwarded` header (RFC 7239 §4), unquoted, IPv6 brackets and ports removed. */
function forwardedFor(value: string): string[] {
  const out: string[] = [];
  for (const element of splitList(value)) {
    let node: string | undefined;
    let start = 0;
    for (let i = 0; i <= element.length; i++) {
      if (i !== element.length && element.charCodeAt(i) !== 0x3b) continue;
      const pair = element.slice(start, i).trim();
      start = i + 1;
      const eq = pair.indexOf('=');
      if (eq !== -1 && pair.slice(0, eq).trim().toLowerCase() === 'for') node = pair.slice(eq + 1).trim();
    }
    if (node === undefined) continue;
    if (node.length >= 2 && node.startsWith('"') && node.endsWith('"')) node = node.slice(1, -1);
    if (node.startsWith('[')) {
      const close = node.indexOf(']');
      node = close === -1 ? node.slice(1) : node.slice(1, close);
    } else {
      const colon = node.indexOf(':');
      if (colon !== -1 && node.indexOf(':', colon + 1) === -1) node = node.slice(0, colon);
    }
    out.push(node);
  }
  return out;
}
