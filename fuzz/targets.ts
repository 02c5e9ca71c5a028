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
import { HttpHeadParser, type HttpHeadResult, type RequestHead, type ResponseHead } from '../src/handshake/index.js';

/** An invariant the fuzz target found broken. */
export class FuzzFailure extends Error {
  override name = 'FuzzFailure';
}

const documentedCodes = new Set<string>(Object.values(ErrorCode));
const wireCloseCodes = new Set([1002, 1007, 1008, 1009, 1011]);

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

/** Frame decoder target: frames or one documented error; never more than one error; no throw. */
export function fuzzDecoder(input: Uint8Array, cuts: readonly number[], expectMasked: boolean): void {
  let errors = 0;
  let inFrame = false;
  let frameBytes = 0;
  let declared = 0;
  const decoder = new FrameDecoder(
    {
      frameStart(opcode, _fin, _rsv, length) {
        check(errors === 0, 'frame after error');
        check(!inFrame, 'frameStart inside a frame');
        check(opcode <= 2, `data frameStart with opcode ${opcode}`);
        check(length <= LIMIT, `frame of ${length} bytes passed a ${LIMIT}-byte limit`);
        inFrame = true;
        frameBytes = 0;
        declared = length;
      },
      framePayload(piece) {
        check(inFrame && piece.length > 0, 'payload outside a frame or empty');
        frameBytes += piece.length;
        check(frameBytes <= declared, 'more payload than declared');
      },
      frameEnd() {
        check(inFrame && frameBytes === declared, 'frameEnd before the declared payload');
        inFrame = false;
      },
      controlFrame(opcode, payload) {
        check(!inFrame || true, '');
        check(opcode >= 8 && opcode <= 10 && payload.length <= 125, `bad control frame ${opcode}/${payload.length}`);
      },
      frameError(error) {
        errors++;
        check(errors === 1, 'two errors');
        checkError(error);
      },
    },
    { expectMasked, maxFrameSize: LIMIT },
  );
  for (const chunk of chunked(input, cuts)) decoder.push(chunk);
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
  for (const e of events) {
    if (e.type === 'message' && !e.binary) {
      check(new TextDecoder('utf-8', { fatal: true }).decode(e.data) !== undefined, 'invalid text delivered');
    }
    if (e.type === 'message') check(e.data.length <= LIMIT, 'message over the limit delivered');
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
}

function runHead(kind: 'request' | 'response', chunks: readonly Uint8Array[]): string {
  const parser = new HttpHeadParser<RequestHead | ResponseHead>(kind, { maxHeadSize: 2048, maxLineLength: 512, maxHeaders: 20 });
  let result: HttpHeadResult<RequestHead | ResponseHead> = { done: false };
  for (const chunk of chunks) {
    try {
      result = parser.push(chunk);
    } catch (error) {
      throw new FuzzFailure(`HttpHeadParser threw: ${String(error)}`);
    }
    if (result.done) break;
  }
  if (!result.done) return 'incomplete';
  if ('error' in result) {
    check([400, 414, 431, 505].includes(result.error.status), `undocumented status ${result.error.status}`);
    return `error ${result.error.status}`;
  }
  const head = result.head;
  const fields = [...head.headers.entries()];
  check(fields.length <= 20, `${fields.length} header fields passed a limit of 20`);
  for (const [name, value] of fields) check(!/[\r\n]/.test(name + value), 'CR or LF inside a parsed header');
  return JSON.stringify([head.kind === 'request' ? [head.method, head.target] : [head.status], fields]);
}

/** HTTP head parser target: no throw, documented statuses, limits hold, and any split gives the same verdict. */
export function fuzzHttpHead(input: Uint8Array, cuts: readonly number[], kind: 'request' | 'response'): void {
  const whole = runHead(kind, [input]);
  const split = runHead(kind, chunked(input, cuts));
  // A split can only change "head too large" timing, never a complete head's content.
  if (!whole.startsWith('error 431') && !split.startsWith('error 431')) check(whole === split, `split changed the verdict: ${whole} vs ${split}`);
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
