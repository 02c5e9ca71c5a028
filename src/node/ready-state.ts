/**
 * The four readyState constants (WHATWG numbering), defined the way browsers and ws define
 * them: read-only and enumerable on a class and on its prototype (so they cost an instance
 * nothing). One definition for every WebSocket-like class of the library.
 */

/** readyState values. */
export const READY_STATES = [
  ['CONNECTING', 0],
  ['OPEN', 1],
  ['CLOSING', 2],
  ['CLOSED', 3],
] as const;

/**
 * Define CONNECTING, OPEN, CLOSING and CLOSED on `cls` and its prototype.
 */
export function defineReadyStates(cls: { prototype: object }): void {
  for (const [name, value] of READY_STATES) {
    for (const target of [cls, cls.prototype]) Object.defineProperty(target, name, { value, enumerable: true, writable: false, configurable: false });
  }
}
