/**
 * Differential fuzzing against ws: the same generated client byte streams, cut into the same
 * random chunks, are fed to our server-side `Protocol` and to ws's `Receiver` (a dev dependency,
 * in server mode with the same `maxPayload`). Both must report the same messages, pings, pongs and
 * close frame, in the same order, and fail with the same close code, or the difference must be one
 * of the deliberate ones listed in {@link DELIBERATE} (where this library is stricter than ws, or
 * fails earlier). Anything else is reported with the input that reproduces it. Streams are built
 * from plausible frames (text split mid-character across fragments, control frames between
 * fragments, close codes valid and not, non-minimal lengths, unmasked or reserved bits) and then
 * mutated, so most inputs go deep into both parsers. No sockets, no timers.
 */
import { createRequire } from 'node:module';
import { Protocol, type ProtocolEvent } from '../src/core/index.js';
import { Rng } from './mutate.js';
import { chunked } from './targets.js';

const require = createRequire(import.meta.url);
/** ws's frame parser (a Writable), in the shape this file uses. */
interface WsReceiver {
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): void;
  on(event: 'ping' | 'pong', listener: (data: Buffer) => void): void;
  on(event: 'conclude', listener: (code: number, reason: Buffer) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  write(chunk: Uint8Array): boolean;
}
const { Receiver } = require('ws') as { Receiver: new (options: Record<string, unknown>) => WsReceiver };

/** The limit both sides get: small, so 1009 is reachable. */
export const DIFF_MAX_PAYLOAD = 1024;

/** One observable outcome, as comparable text. */
type Outcome = string;

/** What one side reported for a stream. */
export interface Observed {
  readonly outcomes: readonly Outcome[];
  /** The close code of a protocol failure, or null. */
  readonly failure: number | null;
  /** Ours only: the failure's stable error code and message. */
  readonly why?: string;
}

/** Deliberate differences: name -> why. */
export const DELIBERATE = {
  'fail-fast-utf8':
    'text fragments are checked as they arrive (RFC 6455 §8.1 allows failing as soon as the bytes cannot become valid UTF-8; Autobahn 6.4.x): we fail with 1007 where ws, which checks the whole message at its end, still reports the control frames in between or has not failed yet because the message is unfinished',
  'checked-when-frame-complete':
    'continuation order (RFC 6455 §5.4) and a 1-byte close body (§5.5.1) are checked once the frame header (or the close body) is complete, where ws checks them at the first two bytes: the two differ only on a stream cut inside that frame, and completing the frame makes us fail with the same code',
  'same-frame-other-rule':
    'a frame that breaks two rules (say a continuation with nothing to continue that is also over the size limit) fails on that same frame in both, but each reports the rule it checks first (we check the frame on its own before its place in a message): both codes are right',
  'non-minimal-length':
    'a payload length not encoded in the fewest bytes fails with 1002 ("in all cases, the minimal number of bytes MUST be used to encode the length", RFC 6455 §5.2); ws accepts it',
} as const;
export type DeliberateDifference = keyof typeof DELIBERATE;

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Our server-side protocol's view of the stream. */
export function observeOurs(chunks: readonly Uint8Array[]): Observed {
  const protocol = new Protocol({ role: 'server', maxPayload: DIFF_MAX_PAYLOAD });
  const outcomes: Outcome[] = [];
  let failure: number | null = null;
  let why: string | undefined;
  const take = (event: ProtocolEvent) => {
    if (event.type === 'message') outcomes.push(`${event.binary ? 'binary' : 'text'} ${hex(event.data)}`);
    else if (event.type === 'ping' || event.type === 'pong') outcomes.push(`${event.type} ${hex(event.data)}`);
    else if (event.type === 'close') outcomes.push(`close ${event.code} ${Buffer.from(event.reason).toString('hex')}`);
    else if (event.type === 'error' && failure === null) {
      failure = event.error.closeCode ?? -1;
      why = `${event.error.code}: ${event.error.message}`;
    }
  };
  for (const chunk of chunks) {
    protocol.receiveData(chunk);
    for (let e = protocol.nextEvent(); e !== undefined; e = protocol.nextEvent()) take(e);
    protocol.dataToSend();
  }
  return why === undefined ? { outcomes, failure } : { outcomes, failure, why };
}

/** ws's view of the same stream (its errors are emitted on the next tick, hence async). */
export async function observeWs(chunks: readonly Uint8Array[]): Promise<Observed> {
  const receiver = new Receiver({ isServer: true, maxPayload: DIFF_MAX_PAYLOAD, binaryType: 'nodebuffer', allowSynchronousEvents: true });
  const outcomes: Outcome[] = [];
  let failure: number | null = null;
  let done = false;
  receiver.on('message', (data, isBinary) => void outcomes.push(`${isBinary ? 'binary' : 'text'} ${hex(data)}`));
  receiver.on('ping', (data) => void outcomes.push(`ping ${hex(data)}`));
  receiver.on('pong', (data) => void outcomes.push(`pong ${hex(data)}`));
  receiver.on('conclude', (code, reason) => {
    done = true;
    outcomes.push(`close ${code} ${hex(reason)}`);
  });
  receiver.on('error', (error) => {
    done = true;
    const status = Object.getOwnPropertySymbols(error).find((s) => s.description === 'status-code');
    failure ??= status === undefined ? -1 : ((error as unknown as Record<symbol, number>)[status] ?? -1);
  });
  for (const chunk of chunks) {
    if (done) break;
    receiver.write(chunk);
    // A parse error reaches 'error' on the next tick; later chunks must not be parsed before it.
    await new Promise((resolve) => process.nextTick(resolve));
  }
  await new Promise((resolve) => setImmediate(resolve));
  return { outcomes, failure };
}

/** Agreement, a deliberate difference, or a mismatch (a bug on one side). */
export type Verdict = { readonly kind: 'same' } | { readonly kind: 'deliberate'; readonly name: DeliberateDifference } | { readonly kind: 'mismatch' };

const sameObservation = (a: Observed, b: Observed) => a.failure === b.failure && a.outcomes.length === b.outcomes.length && a.outcomes.every((o, i) => o === b.outcomes[i]);

const prefixOf = (a: readonly Outcome[], b: readonly Outcome[]) => a.every((o, i) => o === b[i]);

/** `input` with its last frame padded with zero bytes to its full length, or null when it ends on a frame boundary. */
export function completeLastFrame(original: Uint8Array): Uint8Array | null {
  let input = original;
  let pos = 0;
  for (;;) {
    if (pos === input.length) return input === original ? null : input;
    if (input.length - pos < 2) return Buffer.concat([input, new Uint8Array(2 - (input.length - pos) + 4)]);
    const b1 = input[pos + 1]!;
    const length7 = b1 & 0x7f;
    const lengthBytes = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
    const headerLength = 2 + lengthBytes + ((b1 & 0x80) !== 0 ? 4 : 0);
    if (input.length - pos < headerLength) input = Buffer.concat([input, new Uint8Array(headerLength - (input.length - pos))]);
    const view = Buffer.from(input.buffer, input.byteOffset + pos + 2, lengthBytes);
    const length = lengthBytes === 0 ? length7 : lengthBytes === 2 ? view.readUInt16BE(0) : Number(view.readBigUInt64BE(0));
    const end = pos + headerLength + length;
    if (end > input.length) return end - input.length > 1 << 20 ? null : Buffer.concat([input, new Uint8Array(end - input.length)]);
    if (end === input.length && input !== original) return input;
    pos = end;
  }
}

/** Where the frame holding byte `at` of `input` starts (frames walked from the first byte). */
export function frameStartAt(input: Uint8Array, at: number): number {
  let pos = 0;
  while (pos + 2 <= input.length) {
    const b1 = input[pos + 1]!;
    const length7 = b1 & 0x7f;
    const lengthBytes = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
    const headerLength = 2 + lengthBytes + ((b1 & 0x80) !== 0 ? 4 : 0);
    if (pos + 2 + lengthBytes > input.length) return pos;
    const view = Buffer.from(input.buffer, input.byteOffset + pos + 2, lengthBytes);
    const length = lengthBytes === 0 ? length7 : lengthBytes === 2 ? view.readUInt16BE(0) : Number(view.readBigUInt64BE(0));
    const end = pos + headerLength + length;
    if (at < end) return pos;
    pos = end;
  }
  return pos;
}

/** How many bytes of `input` our protocol reads before it fails (fed one byte at a time), or -1. */
export function ourFailureOffset(input: Uint8Array): number {
  const protocol = new Protocol({ role: 'server', maxPayload: DIFF_MAX_PAYLOAD });
  for (let k = 0; k < input.length; k++) {
    protocol.receiveData(input.slice(k, k + 1));
    for (let e = protocol.nextEvent(); e !== undefined; e = protocol.nextEvent()) if (e.type === 'error') return k + 1;
    protocol.dataToSend();
  }
  return -1;
}

/**
 * Compare what the two sides reported for `input`. When they differ and we failed, ws is run on
 * the bytes up to our failure: if ws reports the same up to there without failing, we failed
 * earlier than ws would, which is deliberate only for the reasons in {@link DELIBERATE}.
 */
export async function compare(input: Uint8Array, ours: Observed, ws: Observed): Promise<Verdict> {
  if (sameObservation(ours, ws)) return { kind: 'same' };
  if (ours.failure === null) {
    // ws failed on a frame the stream cuts short: complete it, and we must fail the same way.
    if (ws.failure === null || !prefixOf(ours.outcomes, ws.outcomes) || ours.outcomes.length !== ws.outcomes.length) return { kind: 'mismatch' };
    const completed = completeLastFrame(input);
    if (completed === null) return { kind: 'mismatch' };
    const again = observeOurs([completed]);
    return again.failure === ws.failure && prefixOf(ours.outcomes, again.outcomes) ? { kind: 'deliberate', name: 'checked-when-frame-complete' } : { kind: 'mismatch' };
  }
  const offset = ourFailureOffset(new Uint8Array(input));
  if (offset === -1) return { kind: 'mismatch' };
  // ws gets the bytes before the one that made us fail.
  const wsUpToThere = await observeWs([new Uint8Array(input.subarray(0, offset - 1))]);
  const sameSoFar = wsUpToThere.outcomes.length === ours.outcomes.length && ours.outcomes.every((o, i) => o === wsUpToThere.outcomes[i]);
  if (!sameSoFar) return { kind: 'mismatch' };
  const nonMinimal = ours.failure === 1002 && ours.why?.endsWith('not minimally encoded') === true;
  if (wsUpToThere.failure === null) {
    // We failed earlier than ws would.
    if (ours.failure === 1007 && ours.why?.startsWith('WS_ERR_INVALID_UTF8') === true) return { kind: 'deliberate', name: 'fail-fast-utf8' };
    if (nonMinimal) return { kind: 'deliberate', name: 'non-minimal-length' };
  }
  if (ws.failure !== null && sameSoFar) {
    // Both fail: on the same frame if ws accepts everything before the frame we failed on.
    const start = frameStartAt(input, offset - 1);
    const wsBefore = await observeWs([new Uint8Array(input.subarray(0, start))]);
    const wsWithFrame = await observeWs([new Uint8Array(input.subarray(0, offset))]);
    if (wsBefore.failure === null && wsWithFrame.failure !== null) return { kind: 'deliberate', name: 'same-frame-other-rule' };
  }
  if (nonMinimal && ws.failure === 1009 && ws.outcomes.length === ours.outcomes.length && ours.outcomes.every((o, i) => o === ws.outcomes[i])) {
    // The same header breaks both rules; we check the encoding before the size.
    return { kind: 'deliberate', name: 'non-minimal-length' };
  }
  return { kind: 'mismatch' };
}

// -- stream generation ----------------------------------------------------------------------

const SAMPLE_TEXT = ['hello', 'κόσμε', '日本語のテキスト', '🙂🚀', 'a'.repeat(130), 'ü'.repeat(70), ''];
const CLOSE_CODES = [1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 1015, 1016, 2000, 2999, 3000, 3999, 4000, 4999, 5000, 65535, 0, 999];
const INVALID_UTF8 = [Uint8Array.of(0xff), Uint8Array.of(0xc0, 0x80), Uint8Array.of(0xed, 0xa0, 0x80), Uint8Array.of(0xf4, 0x90, 0x80, 0x80), Uint8Array.of(0xe2, 0x82)];

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.below(items.length)]!;
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.below(256);
  return out;
}

function textBytes(rng: Rng): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 0, n = 1 + rng.below(3); i < n; i++) parts.push(Buffer.from(pick(rng, SAMPLE_TEXT)));
  if (rng.below(8) === 0) parts.splice(rng.below(parts.length + 1), 0, pick(rng, INVALID_UTF8));
  return Buffer.concat(parts);
}

interface FrameSpec {
  fin: boolean;
  rsv: number;
  opcode: number;
  payload: Uint8Array;
}

/** Encode one client frame (masked unless `unmasked`), with a minimal length unless `wideLength`. */
function encode(rng: Rng, f: FrameSpec): Uint8Array {
  const unmasked = rng.below(40) === 0;
  const wide = rng.below(15) === 0;
  const n = f.payload.length;
  const header: number[] = [(f.fin ? 0x80 : 0) | (f.rsv << 4) | f.opcode];
  const mask = unmasked ? 0 : 0x80;
  if (n < 126 && !wide) header.push(mask | n);
  else if (n < 65536 && !(wide && rng.below(2) === 0)) header.push(mask | 126, n >> 8, n & 0xff);
  else header.push(mask | 127, 0, 0, 0, 0, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  const key = unmasked ? new Uint8Array(0) : randomBytes(rng, 4);
  const body = new Uint8Array(n);
  for (let i = 0; i < n; i++) body[i] = f.payload[i]! ^ (unmasked ? 0 : key[i & 3]!);
  return Buffer.concat([Uint8Array.from(header), key, body]);
}

function controlFrame(rng: Rng): FrameSpec {
  const opcode = rng.below(2) === 0 ? 0x9 : 0xa;
  const size = rng.below(20) === 0 ? 126 + rng.below(10) : rng.below(40);
  return { fin: rng.below(30) !== 0, rsv: 0, opcode, payload: randomBytes(rng, size) };
}

function closeFrame(rng: Rng): FrameSpec {
  const shape = rng.below(10);
  if (shape === 0) return { fin: true, rsv: 0, opcode: 0x8, payload: new Uint8Array(0) };
  if (shape === 1) return { fin: true, rsv: 0, opcode: 0x8, payload: Uint8Array.of(0x03) };
  const code = pick(rng, CLOSE_CODES);
  const reason = rng.below(6) === 0 ? pick(rng, INVALID_UTF8) : Buffer.from(rng.below(2) === 0 ? '' : pick(rng, SAMPLE_TEXT).slice(0, 40));
  return { fin: true, rsv: 0, opcode: 0x8, payload: Buffer.concat([Uint8Array.of(code >> 8, code & 0xff), reason]) };
}

/** A message as one or more frames, with control frames between the fragments. */
function message(rng: Rng): FrameSpec[] {
  const binary = rng.below(3) === 0;
  const big = rng.below(12) === 0;
  const payload = binary ? randomBytes(rng, big ? 900 + rng.below(300) : rng.below(200)) : big ? Buffer.from('x'.repeat(900 + rng.below(300))) : textBytes(rng);
  const pieces = rng.below(3) === 0 ? 1 + rng.below(5) : 1;
  const cuts = Array.from({ length: pieces - 1 }, () => rng.below(payload.length + 1)).sort((a, b) => a - b);
  const frames: FrameSpec[] = [];
  let start = 0;
  for (let i = 0; i < pieces; i++) {
    const end = i === pieces - 1 ? payload.length : cuts[i]!;
    frames.push({ fin: i === pieces - 1, rsv: rng.below(50) === 0 ? 1 + rng.below(7) : 0, opcode: i === 0 ? (binary ? 0x2 : 0x1) : 0x0, payload: payload.subarray(start, end) });
    start = end;
    if (i < pieces - 1 && rng.below(3) === 0) frames.push(controlFrame(rng));
  }
  return frames;
}

/** One generated client stream and how it is cut. */
export interface DiffCase {
  readonly input: Uint8Array;
  readonly cuts: readonly number[];
}

/** The case for (`seed`, `i`): same numbers, same bytes. */
export function makeDiffCase(seed: number, i: number): DiffCase {
  const rng = new Rng((seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
  const frames: FrameSpec[] = [];
  for (let m = 0, n = 1 + rng.below(6); m < n; m++) {
    const kind = rng.below(10);
    if (kind < 6) frames.push(...message(rng));
    else if (kind < 8) frames.push(controlFrame(rng));
    else if (kind < 9) frames.push({ fin: rng.below(2) === 0, rsv: 0, opcode: pick(rng, [0x0, 0x3, 0x7, 0xb, 0xf]), payload: randomBytes(rng, rng.below(10)) });
    else frames.push(closeFrame(rng));
  }
  if (rng.below(3) === 0) frames.push(closeFrame(rng));
  let input: Uint8Array = Buffer.concat(frames.map((f) => encode(rng, f)));
  // A few raw mutations: flipped bits and truncation.
  if (rng.below(6) === 0 && input.length > 0) {
    input = Uint8Array.from(input);
    for (let k = 0, n = 1 + rng.below(3); k < n; k++) input[rng.below(input.length)]! ^= 1 << rng.below(8);
  }
  if (rng.below(10) === 0) input = input.subarray(0, rng.below(input.length + 1));
  const cuts = rng.below(3) === 0 ? [] : Array.from({ length: 1 + rng.below(10) }, () => rng.below(input.length + 1));
  return { input, cuts };
}

/** What a run saw. */
export interface DiffReport {
  readonly cases: number;
  readonly same: number;
  readonly deliberate: Readonly<Partial<Record<DeliberateDifference, number>>>;
  /** The first mismatch, with what reproduces it. */
  readonly mismatch: { readonly i: number; readonly input: string; readonly cuts: readonly number[]; readonly ours: Observed; readonly ws: Observed } | null;
}

/** Run cases `0..iterations-1` of `seed` (stopping at the first mismatch, or after `seconds`). */
export async function runDifferential(options: { seed: number; iterations: number; seconds?: number }): Promise<DiffReport> {
  const deadline = Date.now() + (options.seconds ?? Number.POSITIVE_INFINITY) * 1000;
  let same = 0;
  const deliberate: Partial<Record<DeliberateDifference, number>> = {};
  let i = 0;
  for (; i < options.iterations && Date.now() < deadline; i++) {
    const c = makeDiffCase(options.seed, i);
    // Each side gets its own copy: our protocol owns its input and unmasks it in place.
    const ours = observeOurs(chunked(new Uint8Array(c.input), c.cuts));
    const ws = await observeWs(chunked(new Uint8Array(c.input), c.cuts));
    const verdict = await compare(c.input, ours, ws);
    if (verdict.kind === 'same') same++;
    else if (verdict.kind === 'deliberate') deliberate[verdict.name] = (deliberate[verdict.name] ?? 0) + 1;
    else return { cases: i + 1, same, deliberate, mismatch: { i, input: hex(c.input), cuts: c.cuts, ours, ws } };
  }
  return { cases: i, same, deliberate, mismatch: null };
}
