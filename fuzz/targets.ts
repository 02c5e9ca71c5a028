/**
 * Fuzz targets: each takes an input byte stream and a list of chunk boundaries, feeds the
 * library, and checks the invariant "accepted, or rejected with a documented error, and nothing
 * else": no exception escapes, every error carries a known code and a close code from the ladder,
 * memory stays bounded, and the protocol's output stays a well-formed frame stream. A violated
 * invariant throws a `FuzzFailure` describing it.
 */
import {
  ErrorCode,
  FrameDecoder,
  MAX_PENDING_PONGS,
  Protocol,
  type ProtocolEvent,
  SEND_EOF,
  State,
  type WebSocketError,
} from '../src/core/index.js';
import { HttpHeadParser, type HttpHeadResult, HttpParseError, type RequestHead, type ResponseHead } from '../src/handshake/index.js';

/** An invariant the fuzz target found broken. */
export class FuzzFailure extends Error {
  override name = 'FuzzFailure';
}

const documentedCodes = new Set<string>(Object.values(ErrorCode));
const wireCloseCodes = new Set([1002, 1007, 1008, 1009, 1011]);
/** Codes a close frame may carry (RFC 6455 §7.4.1 and the IANA registry): 1000–1003, 1007–1014, 3000–4999. */
const isWireCloseCode = (code: number) => (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);

function check(condition: boolean, message: string): void {
  if (!condition) throw new FuzzFailure(message);
}

function checkError(error: WebSocketError): void {
  check(documentedCodes.has(error.code), `undocumented error code ${error.code}`);
  check(error.closeCode !== undefined && wireCloseCodes.has(error.closeCode), `error ${error.code} has close code ${error.closeCode}`);
}

/** Split `input` at the boundaries (taken modulo the input length). */
export function chunked(input: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const end of [...points, input.length]) {
    chunks.push(input.slice(start, end));
    start = end;
  }
  return chunks;
}

const LIMIT = 4096;

/** One frame as the decoder reported it, or as the reference walk of the input expects it. */
interface SeenFrame {
  readonly control: boolean;
  readonly opcode: number;
  readonly fin: boolean;
  readonly rsv: number;
  /** Declared payload length. */
  readonly length: number;
  /** Unmasked payload bytes delivered so far. */
  payload: number[];
  /** Whether the frame was completed (frameEnd, or the control frame was delivered). */
  ended: boolean;
}

const CONTROL_LIMIT = 125;

/**
 * Walk `input` as one frame stream with a straightforward whole-buffer reading of RFC 6455 §5.2:
 * the frames a decoder must report, then how the stream ends: incomplete, or an error whose code
 * must be one of `errors` (every rule the first offending header breaks).
 */
function referenceFrames(input: Uint8Array, expectMasked: boolean): { frames: SeenFrame[]; errors: Set<string> | null } {
  const frames: SeenFrame[] = [];
  let pos = 0;
  for (;;) {
    if (input.length - pos < 2) return { frames, errors: null };
    const b0 = input[pos]!;
    const b1 = input[pos + 1]!;
    const masked = (b1 & 0x80) !== 0;
    const length7 = b1 & 0x7f;
    const lengthBytes = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
    const headerLength = 2 + lengthBytes + (masked ? 4 : 0);
    const fin = (b0 & 0x80) !== 0;
    const rsv = b0 & 0x70;
    const opcode = b0 & 0x0f;
    const control = opcode >= 8;
    // The rules of the first two bytes apply as soon as they are there, the length's once the
    // length is, before the masking key arrives.
    const errors = new Set<string>();
    if (![0, 1, 2, 8, 9, 10].includes(opcode)) errors.add(ErrorCode.InvalidOpcode);
    if (rsv !== 0) errors.add(ErrorCode.UnexpectedRsvBits);
    if (control && !fin) errors.add(ErrorCode.FragmentedControlFrame);
    if (control && length7 > CONTROL_LIMIT) errors.add(ErrorCode.ControlFrameTooLong);
    if (masked !== expectMasked) errors.add(expectMasked ? ErrorCode.MaskRequired : ErrorCode.MaskForbidden);
    if (errors.size > 0) return { frames, errors };
    if (input.length - pos < 2 + lengthBytes) return { frames, errors: null };
    let length = length7;
    let lengthValid = true;
    if (length7 === 126) {
      length = input[pos + 2]! * 256 + input[pos + 3]!;
      lengthValid = length >= 126;
    } else if (length7 === 127) {
      let big = 0n;
      for (let i = 0; i < 8; i++) big = (big << 8n) | BigInt(input[pos + 2 + i]!);
      lengthValid = big >= 65536n && big <= BigInt(Number.MAX_SAFE_INTEGER);
      length = lengthValid ? Number(big) : Infinity;
    }
    if (!lengthValid) errors.add(ErrorCode.InvalidLength);
    if (length > LIMIT) errors.add(ErrorCode.FrameTooBig);
    if (errors.size > 0) return { frames, errors };
    if (input.length - pos < headerLength) return { frames, errors: null };
    const key = masked ? input.subarray(pos + headerLength - 4, pos + headerLength) : Uint8Array.of(0, 0, 0, 0);
    const start = pos + headerLength;
    const available = Math.min(length, input.length - start);
    const payload = Array.from(input.subarray(start, start + available), (b, i) => b ^ key[i & 3]!);
    const ended = available === length;
    if (control && !ended) return { frames, errors: null };
    frames.push({ control, opcode, fin, rsv, length, payload, ended });
    if (!ended) return { frames, errors: null };
    pos = start + length;
  }
}

const describeFrames = (frames: readonly SeenFrame[]) =>
  JSON.stringify(frames.map((f) => ({ ...f, payload: Buffer.from(f.payload).toString('hex') })));

/**
 * Frame decoder target: no throw; calls come in frameStart, framePayload*, frameEnd order with
 * control frames only between data frames; every frame and payload byte is the one the input
 * holds (checked against a whole-buffer reference walk, so no chunking changes it); the stream
 * ends incomplete or with exactly one documented error, and nothing is reported after it.
 */
export function fuzzDecoder(input: Uint8Array, cuts: readonly number[], expectMasked: boolean): void {
  const expected = referenceFrames(input, expectMasked);
  const seen: SeenFrame[] = [];
  let error: WebSocketError | null = null;
  let current: SeenFrame | null = null;
  const decoder = new FrameDecoder(
    {
      frameStart(opcode, fin, rsv, length) {
        check(error === null, 'frameStart after an error');
        check(current === null, 'frameStart inside a frame');
        check(opcode <= 2, `data frameStart with opcode ${opcode}`);
        check(length <= LIMIT, `frame of ${length} bytes passed a ${LIMIT}-byte limit`);
        current = { control: false, opcode, fin, rsv, length, payload: [], ended: false };
        seen.push(current);
      },
      framePayload(piece) {
        check(error === null, 'framePayload after an error');
        check(current !== null, 'framePayload outside a frame');
        check(piece.length > 0, 'empty framePayload');
        current!.payload.push(...piece);
        check(current!.payload.length <= current!.length, 'more payload than declared');
      },
      frameEnd() {
        check(error === null, 'frameEnd after an error');
        check(current !== null && current.payload.length === current.length, 'frameEnd before the declared payload');
        current!.ended = true;
        current = null;
      },
      controlFrame(opcode, payload) {
        check(error === null, 'control frame after an error');
        check(current === null, 'control frame inside a data frame');
        check(opcode >= 8 && opcode <= 10 && payload.length <= CONTROL_LIMIT, `bad control frame ${opcode}/${payload.length}`);
        seen.push({ control: true, opcode, fin: true, rsv: 0, length: payload.length, payload: Array.from(payload), ended: true });
      },
      frameError(e) {
        check(error === null, 'two errors');
        checkError(e);
        error = e;
      },
    },
    { expectMasked, maxFrameSize: LIMIT },
  );
  for (const chunk of chunked(input, cuts)) {
    decoder.push(chunk);
  }
  const got = describeFrames(seen);
  const want = describeFrames(expected.frames);
  check(got === want, `decoded ${got}, the input holds ${want}`);
  const reported = (error as WebSocketError | null)?.code ?? null;
  if (expected.errors === null) check(reported === null, `error ${reported} on a valid (possibly incomplete) stream`);
  else check(reported !== null && expected.errors.has(reported), `error ${reported}; the input breaks ${[...expected.errors].join(', ')}`);
}

/** Protocol target, either role: no throw, bounded buffers, well-ordered output and events. */
export function fuzzProtocol(input: Uint8Array, cuts: readonly number[], role: 'client' | 'server'): void {
  const p = new Protocol({ role, maxPayload: LIMIT, maxFragments: 64 });
  const events: ProtocolEvent[] = [];
  let closesSent = 0;
  let eofSent = false;
  const outgoing: Uint8Array[] = [];
  const drain = () => {
    const out = p.dataToSend();
    check(out.length <= MAX_PENDING_PONGS + 4, `${out.length} chunks queued by one input chunk`);
    for (const chunk of out) {
      check(!eofSent, 'output after SEND_EOF');
      if (chunk === SEND_EOF) eofSent = true;
      else outgoing.push(chunk);
    }
    events.push(...p.eventsReceived());
  };
  for (const chunk of chunked(input, cuts)) {
    try {
      p.receiveData(chunk);
    } catch (error) {
      throw new FuzzFailure(`receiveData threw: ${String(error)}`);
    }
    check(p.bufferedMessageBytes <= 2 * LIMIT + 4096, `message buffer holds ${p.bufferedMessageBytes} bytes`);
    drain();
  }
  p.receiveEof();
  drain();
  check(p.state === State.Closed, 'not closed after EOF');
  const errorEvents = events.filter((e) => e.type === 'error');
  check(errorEvents.length <= 1, 'more than one error event');
  for (const e of errorEvents) if (e.type === 'error') checkError(e.error);
  check(events.filter((e) => e.type === 'closed').length === 1 && events[events.length - 1]!.type === 'closed', 'closed is not the single last event');
  const closeFrames = events.filter((e) => e.type === 'close');
  check(closeFrames.length <= 1, 'more than one close frame reported');
  const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
  let ended: string | null = null;
  for (const e of events) {
    // After a failure or the peer's close frame, input is discarded: only `closed` may follow.
    check(ended === null || e.type === 'closed', `${e.type} event after ${ended}`);
    if (e.type === 'error' || e.type === 'close') ended = e.type;
    if (e.type === 'message') {
      check(!e.compressed, 'compressed message without a negotiated extension');
      check(e.data.length <= LIMIT, 'message over the limit delivered');
      if (!e.binary) {
        let valid = true;
        try {
          strictUtf8.decode(e.data);
        } catch {
          valid = false;
        }
        check(valid, `invalid UTF-8 delivered as text: ${Buffer.from(e.data).toString('hex')}`);
      }
    }
    if (e.type === 'ping' || e.type === 'pong') check(e.data.length <= 125, `${e.type} of ${e.data.length} bytes`);
    if (e.type === 'close') {
      check(e.code === 1005 ? e.reason === '' : isWireCloseCode(e.code), `close frame reported with code ${e.code}`);
      check(new TextEncoder().encode(e.reason).length <= 123, 'close reason over 123 bytes');
    }
  }
  const closed = events[events.length - 1]!;
  if (closed.type === 'closed') {
    const peer = closeFrames[0];
    const want = peer?.type === 'close' ? peer.code : 1006;
    check(closed.code === want, `closed with code ${closed.code}, expected ${want}`);
    check(closed.reason === (peer?.type === 'close' ? peer.reason : ''), 'closed reason differs from the close frame');
    if (closed.wasClean) check(peer !== undefined && errorEvents.length === 0, 'clean close without a close frame from the peer');
  }
  // Our output must be a valid stream for the peer, closing at most once, close last.
  let afterClose = false;
  new FrameDecoder(
    {
      frameStart() {
        check(!afterClose, 'data frame after close');
      },
      framePayload() {},
      frameEnd() {},
      controlFrame(opcode) {
        check(!afterClose, 'frame after close');
        if (opcode === 8) {
          closesSent++;
          afterClose = true;
        }
      },
      frameError(error) {
        throw new FuzzFailure(`our output is not a valid frame stream: ${error.message}`);
      },
    },
    { expectMasked: role === 'client' },
  ).push(Uint8Array.from(outgoing.flatMap((c) => Array.from(c))));
  check(closesSent <= 1, 'more than one close frame sent');
  if (errorEvents.length === 1) check(closesSent === 1, 'failed without a close frame');
  if (closeFrames.length === 1) check(closesSent === 1, "the peer's close frame was not answered");
  if (closed.type === 'closed' && closed.wasClean) check(closesSent === 1, 'clean close without sending a close frame');
}

const HEAD_LIMITS = { maxHeadSize: 2048, maxLineLength: 512, maxHeaders: 20 } as const;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const latin1 = (bytes: Uint8Array) => Array.from(bytes, (b) => String.fromCharCode(b)).join('');

/**
 * Check a parsed head against the input it came from: the start line and every field line are
 * the input's own lines (names as tokens, values trimmed of OWS and free of control characters),
 * the limits hold, and `rest` is exactly the input after the empty line.
 */
function checkHead(kind: 'request' | 'response', input: Uint8Array, head: RequestHead | ResponseHead, rest: Uint8Array): void {
  check(head.kind === kind, `asked for a ${kind}, got a ${head.kind}`);
  const text = latin1(input);
  const end = text.indexOf('\r\n\r\n');
  check(end > 0, 'a head without an empty line');
  check(end + 4 <= HEAD_LIMITS.maxHeadSize, `a ${end + 4}-byte head passed the ${HEAD_LIMITS.maxHeadSize}-byte limit`);
  check(Buffer.from(rest).equals(input.subarray(end + 4)), 'rest is not the input after the head');
  const [startLine, ...fieldLines] = text.slice(0, end).split('\r\n');
  for (const line of [startLine!, ...fieldLines]) check(line.length <= HEAD_LIMITS.maxLineLength, `a ${line.length}-byte line passed the limit`);
  check(/^\d\.\d$/.test(head.version), `version ${head.version}`);
  if (head.kind === 'request') {
    check(TOKEN.test(head.method), `method ${JSON.stringify(head.method)} is not a token`);
    check(/^[\x21-\x7e]+$/.test(head.target), `request target ${JSON.stringify(head.target)}`);
    check(startLine === `${head.method} ${head.target} HTTP/${head.version}`, `request line ${JSON.stringify(startLine)} parsed as ${head.method} ${head.target} ${head.version}`);
  } else {
    check(Number.isInteger(head.status) && head.status >= 0 && head.status <= 999, `status ${head.status}`);
    const prefix = `HTTP/${head.version} ${String(head.status).padStart(3, '0')}`;
    check(startLine === prefix || startLine === `${prefix} ${head.reason}`, `status line ${JSON.stringify(startLine)} parsed as ${prefix} ${JSON.stringify(head.reason)}`);
  }
  const fields = [...head.headers.entries()];
  check(fields.length <= HEAD_LIMITS.maxHeaders, `${fields.length} header fields passed a limit of ${HEAD_LIMITS.maxHeaders}`);
  check(fields.length === fieldLines.length, `${fieldLines.length} field lines parsed as ${fields.length} fields`);
  fields.forEach(([name, value], i) => {
    const line = fieldLines[i]!;
    const colon = line.indexOf(':');
    check(TOKEN.test(name) && line.slice(0, colon).toLowerCase() === name, `field name ${JSON.stringify(name)} from ${JSON.stringify(line)}`);
    check(line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '') === value, `field value ${JSON.stringify(value)} from ${JSON.stringify(line)}`);
    check(!/[\x00-\x08\x0a-\x1f\x7f]/.test(value) && !/^[ \t]|[ \t]$/.test(value), `field value ${JSON.stringify(value)}`);
  });
}

function runHead(kind: 'request' | 'response', input: Uint8Array, chunks: readonly Uint8Array[]): string {
  const parser = new HttpHeadParser<RequestHead | ResponseHead>(kind, HEAD_LIMITS);
  let result: HttpHeadResult<RequestHead | ResponseHead> = { done: false };
  let used = 0;
  for (const chunk of chunks) {
    try {
      result = parser.push(chunk);
    } catch (error) {
      throw new FuzzFailure(`HttpHeadParser threw: ${String(error)}`);
    }
    used++;
    if (result.done) break;
  }
  if (!result.done) {
    // The parser must have decided by the end of a complete head or once the size limit is passed.
    check(latin1(input).indexOf('\r\n\r\n') === -1, 'incomplete, yet the input holds an empty line');
    check(input.length <= HEAD_LIMITS.maxHeadSize, `incomplete after ${input.length} bytes`);
    return 'incomplete';
  }
  if ('error' in result) {
    check(result.error instanceof HttpParseError, 'error is not an HttpParseError');
    const documented = kind === 'request' ? [400, 414, 431, 505] : [400, 431, 505];
    check(documented.includes(result.error.status), `undocumented status ${result.error.status} for a ${kind}`);
    return `error ${result.error.status}`;
  }
  const rest = concatChunks([result.rest, ...chunks.slice(used)]);
  checkHead(kind, input, result.head, rest);
  const head = result.head;
  return JSON.stringify([head.kind === 'request' ? [head.method, head.target, head.version] : [head.status, head.reason, head.version], [...head.headers.entries()]]);
}

function concatChunks(chunks: readonly Uint8Array[]): Uint8Array {
  return Uint8Array.from(chunks.flatMap((c) => Array.from(c)));
}

/** HTTP head parser target: no throw, documented statuses, heads true to the input, limits hold, and any split gives the same verdict. */
export function fuzzHttpHead(input: Uint8Array, cuts: readonly number[], kind: 'request' | 'response'): void {
  const whole = runHead(kind, input, [input]);
  const split = runHead(kind, input, chunked(input, cuts));
  // Limits are enforced at the byte that breaks them, so no verdict may depend on the split.
  check(whole === split, `split changed the verdict: ${whole} vs ${split}`);
}

/** Every target, by name, as the runner and the test call them. */
export const targets = {
  'decoder-server': (input: Uint8Array, cuts: readonly number[]) => fuzzDecoder(input, cuts, true),
  'decoder-client': (input: Uint8Array, cuts: readonly number[]) => fuzzDecoder(input, cuts, false),
  'protocol-server': (input: Uint8Array, cuts: readonly number[]) => fuzzProtocol(input, cuts, 'server'),
  'protocol-client': (input: Uint8Array, cuts: readonly number[]) => fuzzProtocol(input, cuts, 'client'),
  'http-request': (input: Uint8Array, cuts: readonly number[]) => fuzzHttpHead(input, cuts, 'request'),
  'http-response': (input: Uint8Array, cuts: readonly number[]) => fuzzHttpHead(input, cuts, 'response'),
} as const;
/** Name of a fuzz target. */
export type TargetName = keyof typeof targets;
