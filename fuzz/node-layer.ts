/**
 * Fuzz target for the Node.js layer, through the public API only: a `WebSocketServer` with
 * permessage-deflate and `WebSocket` clients, driven over loopback TCP by raw peers that send
 * mutated frame streams (starting from valid compressed and uncompressed frames), split at random
 * points and written with random pauses, then end (FIN) or reset (RST) the connection at a random
 * moment. The application handlers echo every message and, by the case's plan, ping, close (also
 * with a reason too long, whose documented synchronous `WS_ERR_INVALID_ARGUMENT` is the only
 * error the harness catches) and send from `'close'`; none of them guards the calls.
 *
 * Invariants: nothing throws into the event loop (no uncaught exception, no unhandled rejection,
 * no server `'error'`), every connection reaches `'close'` and its TCP connection is gone within
 * a bounded time, no connection stays in `clients`, and afterwards the server still echoes "ping"
 * to an honest client. Each case is generated from its own seed (derived from the run's seed and
 * the iteration number), so a failure names what reproduces it.
 */
import { randomBytes, createHash } from 'node:crypto';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { constants as zlibConstants, deflateRawSync } from 'node:zlib';
import { ErrorCode, WebSocket, WebSocketError, WebSocketServer } from '../src/index.js';
import { buildFrame, concatBytes, type RawFrame } from '../test/helpers/frames.js';
import { mutate, randomCuts, Rng } from './mutate.js';
import { chunked } from './targets.js';

/** What a node-layer fuzz run should do. */
export interface NodeLayerFuzzOptions {
  /** Stop after this many cases (each one connection). */
  readonly iterations: number;
  /** Stop after this many seconds (the check of the server at the end comes on top). */
  readonly seconds: number;
  /** Run seed; case `i` is generated from (seed, i) alone. */
  readonly seed: number;
  /** First iteration to run (to replay a failing case: its iteration, with `iterations: 1`). Default 0. */
  readonly start?: number;
  /** Bound on a connection reaching `'close'` and its socket closing, in ms. Default 5,000. */
  readonly closeWithinMs?: number;
}

/** One generated case: who the raw peer is, what it writes, how it ends. */
export interface NodeLayerCase {
  readonly iteration: number;
  readonly caseSeed: number;
  /** `'server'`: a raw client against the `WebSocketServer`; `'client'`: a raw server against a `WebSocket` client. */
  readonly role: 'server' | 'client';
  /** The frame bytes the raw peer writes after the handshake. */
  readonly input: Uint8Array;
  readonly cuts: number[];
  /** Per chunk: 0 write at once, 1 after setImmediate, n > 1 after a timer of n - 1 ms. */
  readonly pauses: number[];
  /** The raw peer ends the connection after this many chunks. */
  readonly endAfter: number;
  readonly ending: 'end' | 'reset';
  /** Whether the first chunk goes out in the same write as the handshake (request or 101). */
  readonly glued: boolean;
  readonly plan: HandlerPlan;
}

/** What the application handlers of a case do, besides echoing. */
export interface HandlerPlan {
  readonly errorListener: boolean;
  /** Ping after every n-th message (0: never). */
  readonly pingEvery: number;
  /** Ping back on every ping. */
  readonly pingOnPing: boolean;
  /** Close after this many messages (0: never), with this reason. */
  readonly closeAfter: number;
  readonly closeReason: string;
  /** Send once more from the `'close'` handler. */
  readonly sendOnClose: boolean;
}

/** A broken invariant, with the case that broke it. */
export interface NodeLayerFailure {
  readonly kind: 'uncaught exception' | 'unhandled rejection' | 'server error' | 'no close' | 'socket left open' | 'leaked connection' | 'server unusable';
  readonly error: unknown;
  /** The case running when it happened (null for the final checks). */
  readonly case: NodeLayerCase | null;
}

/** Outcome of a node-layer fuzz run. */
export interface NodeLayerReport {
  readonly seed: number;
  /** Cases run (including the failing one). */
  readonly iterations: number;
  readonly failure: NodeLayerFailure | null;
}

const HOST = '127.0.0.1';
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Raw DEFLATE of `text` as permessage-deflate sends it: sync-flushed, without the 00 00 ff ff tail. */
function compressed(text: string): Uint8Array {
  const out = deflateRawSync(Buffer.from(text), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
}

// "hello" as one non-final raw DEFLATE block (what a sync flush gives, tail removed), and
// a message that inflates past the default 1 KiB compression threshold, so its echo is compressed.
const HELLO_DEFLATED = Uint8Array.of(0xca, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00);
const BIG_TEXT = 'fuzz '.repeat(400);
const BIG_DEFLATED = compressed(BIG_TEXT);
const close = (code: number, reason = '') => Uint8Array.from([code >> 8, code & 0xff, ...Buffer.from(reason)]);

/** Valid frames a peer may send, as the starting point of every case. */
const BASE_FRAMES: readonly RawFrame[] = [
  { opcode: 1, rsv: 0x40, payload: HELLO_DEFLATED },
  { opcode: 1, rsv: 0x40, payload: HELLO_DEFLATED },
  { opcode: 1, rsv: 0x40, payload: BIG_DEFLATED },
  { opcode: 2, rsv: 0x40, payload: compressed('\u0000\u0001binary') },
  { opcode: 1, payload: 'Hello' },
  { opcode: 2, payload: Uint8Array.of(0, 1, 2, 3, 0xff) },
  { opcode: 2, payload: new Uint8Array(1500).fill(0x5a) },
  { opcode: 9, payload: 'ping' },
  { opcode: 10, payload: 'pong' },
  { opcode: 8, payload: close(1000, 'bye') },
  { opcode: 8 },
];
/** A compressed message in two fragments: RSV1 on the first only. */
const FRAGMENTED: readonly RawFrame[] = [
  { opcode: 1, rsv: 0x40, fin: false, payload: HELLO_DEFLATED.subarray(0, 3) },
  { opcode: 0, payload: HELLO_DEFLATED.subarray(3) },
];

function frameStream(rng: Rng, masked: boolean): Uint8Array {
  const frames: RawFrame[] = [];
  const count = 1 + rng.below(5);
  for (let i = 0; i < count; i++) {
    if (rng.below(6) === 0) frames.push(...FRAGMENTED);
    else frames.push(BASE_FRAMES[rng.below(BASE_FRAMES.length)]!);
  }
  return concatBytes(
    frames.map((frame) => buildFrame(masked ? { ...frame, mask: [rng.below(256), rng.below(256), rng.below(256), rng.below(256)] } : frame)),
  );
}

/** Seeds for mutation splices: each base frame alone, both ways. */
const SPLICES = [true, false].flatMap((masked) =>
  BASE_FRAMES.map((frame) => buildFrame(masked ? { ...frame, mask: [0x37, 0xfa, 0x21, 0x3d] } : frame)),
);

/** The seed of case `iteration` of a run with `seed`. */
function caseSeed(seed: number, iteration: number): number {
  const rng = new Rng((seed ^ Math.imul(iteration + 1, 0x9e3779b9)) >>> 0);
  rng.next();
  return rng.next();
}

/** Generate case `iteration` of a run with `seed`. */
export function makeCase(seed: number, iteration: number): NodeLayerCase {
  const own = caseSeed(seed, iteration);
  const rng = new Rng(own);
  const role = rng.below(2) === 0 ? 'server' : 'client';
  const valid = frameStream(rng, role === 'server');
  // Two cases in five stay valid: the timing of EOF and RST is then the only hostile part.
  const input = rng.below(5) < 2 ? valid : mutate(valid, SPLICES, rng, 4096);
  // At most 64 writes per case (byte-at-a-time splits then cover the first 64 bytes).
  const cuts = randomCuts(input.length, rng).slice(0, 64);
  const chunks = chunked(input, cuts).length;
  const pauses = Array.from({ length: chunks + 1 }, () => [0, 0, 1, 2, 3][rng.below(5)]!);
  const endAfter = rng.below(2) === 0 ? chunks : rng.below(chunks + 1);
  const reasons = ['', 'bye', 'x'.repeat(200)];
  return {
    iteration,
    caseSeed: own,
    role,
    input,
    cuts,
    pauses,
    endAfter,
    ending: rng.below(2) === 0 ? 'end' : 'reset',
    glued: rng.below(5) === 0,
    plan: {
      errorListener: rng.below(2) === 0,
      pingEvery: [0, 0, 1, 2][rng.below(4)]!,
      pingOnPing: rng.below(3) === 0,
      closeAfter: [0, 0, 1, 2][rng.below(4)]!,
      closeReason: reasons[rng.below(reasons.length)]!,
      sendOnClose: rng.below(4) === 0,
    },
  };
}

/** A description of a case, enough to replay it (input last: it can be long). */
export function describeCase(c: NodeLayerCase): string {
  return `iteration ${c.iteration} (case seed ${c.caseSeed}): ${c.role} role, ${c.ending} after ${c.endAfter} chunk(s)${c.glued ? ', first chunk glued to the handshake' : ''}, plan ${JSON.stringify(c.plan)}, cuts ${JSON.stringify(c.cuts)}, input ${Buffer.from(c.input).toString('hex')}`;
}

/** A description of a failure: what broke, how to replay it, the stack, the case. */
export function describeFailure(report: NodeLayerReport): string {
  const f = report.failure;
  if (f === null) return 'no failure';
  const e = f.error;
  const errorCode = (e as { code?: unknown } | null)?.code;
  const code = e instanceof Error && typeof errorCode === 'string' ? ` ${errorCode}` : '';
  const what = e instanceof Error ? `${e.name}${code}: ${e.message}` : String(e);
  const replay = f.case ? `\nreplay: fuzzNodeLayer({ seed: ${report.seed}, start: ${f.case.iteration}, iterations: 1, seconds: 60 })` : '';
  const stack = e instanceof Error && e.stack ? `\n${e.stack.split('\n').slice(1, 12).join('\n')}` : '';
  return `${f.kind} after ${report.iterations} case(s): ${what}${replay}${stack}\n${f.case ? describeCase(f.case) : 'in the final checks'}`;
}

/** Call `fn`; swallow only the synchronous `WS_ERR_INVALID_ARGUMENT` the API documents for bad arguments. */
function allowingInvalidArgument(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (error instanceof WebSocketError && error.code === ErrorCode.InvalidArgument) return;
    throw error;
  }
}

/** The application: echo, plus whatever the plan adds. No call is guarded except as above. */
function attachHandlers(ws: WebSocket, plan: HandlerPlan): void {
  if (plan.errorListener) ws.on('error', () => undefined);
  let messages = 0;
  ws.on('message', (data, binary) => {
    messages++;
    ws.send(data, { binary });
    if (plan.pingEvery !== 0 && messages % plan.pingEvery === 0) ws.ping();
    if (plan.closeAfter === messages) allowingInvalidArgument(() => ws.close(1000, plan.closeReason));
  });
  if (plan.pingOnPing) ws.on('ping', () => ws.ping());
  if (plan.sendOnClose) ws.on('close', () => ws.send('late'));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const immediate = () => new Promise<void>((resolve) => setImmediate(resolve));

async function pause(kind: number): Promise<void> {
  if (kind === 1) await immediate();
  else if (kind > 1) await sleep(kind - 1);
}

class Timeout extends Error {}
/** Thrown into a pending wait when the process reported an uncaught error: the case is over. */
class Interrupted extends Error {}

/** Resolve with `promise`, or reject with a `Timeout` after `ms`, or as soon as `interrupt` rejects. */
async function within<T>(promise: Promise<T>, ms: number, what: string, interrupt?: Promise<never>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Timeout(what)), ms)));
    return await Promise.race(interrupt ? [promise, timeout, interrupt] : [promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Read from `socket` until an HTTP head is complete; returns the head and what followed it. */
async function readHead(socket: Socket): Promise<{ head: string; rest: Buffer }> {
  let buffered = Buffer.alloc(0);
  for (;;) {
    const end = buffered.indexOf('\r\n\r\n');
    if (end !== -1) return { head: buffered.subarray(0, end).toString('latin1'), rest: buffered.subarray(end + 4) };
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    buffered = Buffer.concat([buffered, chunk]);
  }
}

/** Write the case's chunks with its pauses, then end or reset at its moment. */
async function play(socket: Socket, c: NodeLayerCase, chunks: readonly Uint8Array[], first: number): Promise<void> {
  for (let i = first; i < chunks.length && i < c.endAfter; i++) {
    await pause(c.pauses[i]!);
    if (socket.destroyed) return;
    socket.write(chunks[i]!);
  }
  await pause(c.pauses[chunks.length]!);
  if (socket.destroyed) return;
  if (c.ending === 'end') socket.end();
  else socket.resetAndDestroy();
}

const closedSocket = (socket: Socket) => (socket.closed ? Promise.resolve() : once(socket, 'close').then(() => undefined));

/** Run the node-layer fuzz loop. Loopback only; every socket and the server are closed at the end. */
export async function fuzzNodeLayer(options: NodeLayerFuzzOptions): Promise<NodeLayerReport> {
  const bound = options.closeWithinMs ?? 5000;
  const start = options.start ?? 0;
  const problems: { kind: NodeLayerFailure['kind']; error: unknown; case: NodeLayerCase | null }[] = [];
  let current: NodeLayerCase | null = null;
  let raise: () => void = () => undefined;
  const interrupt = new Promise<never>((_, reject) => (raise = () => reject(new Interrupted('interrupted'))));
  interrupt.catch(() => undefined);
  const report = (kind: NodeLayerFailure['kind'], error: unknown) => {
    problems.push({ kind, error, case: current });
    raise();
  };
  const onUncaught = (error: unknown) => report('uncaught exception', error);
  const onRejection = (error: unknown) => report('unhandled rejection', error);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onRejection);

  const wss = new WebSocketServer({ port: 0, host: HOST, perMessageDeflate: true });
  wss.on('error', (error) => report('server error', error));
  let plan: HandlerPlan | null = null;
  let connected: ((ws: WebSocket) => void) | null = null;
  wss.on('connection', (ws) => {
    attachHandlers(ws, plan ?? { errorListener: true, pingEvery: 0, pingOnPing: false, closeAfter: 0, closeReason: '', sendOnClose: false });
    connected?.(ws);
  });
  const rawServer: Server = createServer();
  const rawSockets = new Set<Socket>();
  const peerSockets = new Set<Socket>();
  let serving: ((socket: Socket) => void) | null = null;
  rawServer.on('connection', (socket) => {
    rawSockets.add(socket);
    socket.on('close', () => rawSockets.delete(socket));
    socket.on('error', () => undefined);
    if (serving) serving(socket);
    else socket.destroy();
  });
  let iterations = 0;
  let failure: NodeLayerFailure | null = null;
  const fail = (kind: NodeLayerFailure['kind'], error: unknown, c: NodeLayerCase | null) => {
    failure ??= { kind, error, case: c };
  };

  try {
    await Promise.all([once(wss, 'listening'), new Promise<void>((resolve) => rawServer.listen(0, HOST, resolve))]);
    const wsPort = (wss.address() as AddressInfo).port;
    const rawPort = (rawServer.address() as AddressInfo).port;
    const deadline = Date.now() + options.seconds * 1000;

    for (let i = start; i < start + options.iterations && Date.now() < deadline && failure === null; i++) {
      const c = makeCase(options.seed, i);
      current = c;
      iterations++;
      try {
        if (c.role === 'server') await serverCase(c);
        else await clientCase(c);
      } catch (error) {
        if (!(error instanceof Timeout || error instanceof Interrupted)) throw error;
        // An uncaught error usually also leaves its connection unclosed: report the cause.
        const problem = problems[0];
        if (problem) fail(problem.kind, problem.error, problem.case);
        else if (error instanceof Timeout) fail(error.message.startsWith('socket') ? 'socket left open' : 'no close', error, c);
      }
      // Let callbacks queued by the connection's end run while the case is still current.
      await immediate();
      const problem = problems[0];
      if (problem) fail(problem.kind, problem.error, problem.case);
    }

    if (failure === null) {
      current = null;
      await sleep(20);
      const problem = problems[0];
      if (problem) fail(problem.kind, problem.error, problem.case);
      else if (wss.clients.size !== 0) fail('leaked connection', new Error(`${wss.clients.size} connection(s) still in clients after every case closed`), null);
      else {
        try {
          await within(honestEcho(wsPort), bound, 'an honest client got no echo');
        } catch (error) {
          fail('server unusable', error, null);
        }
        const late = problems[0];
        if (late) fail(late.kind, late.error, late.case);
      }
    }

    async function serverCase(c: NodeLayerCase): Promise<void> {
      const chunks = chunked(c.input, c.cuts);
      plan = c.plan;
      const accepted = new Promise<WebSocket>((resolve) => (connected = resolve));
      const socket = connect({ host: HOST, port: wsPort });
      peerSockets.add(socket);
      socket.on('error', () => undefined);
      try {
        await within(once(socket, 'connect'), bound, 'raw client could not connect', interrupt);
        socket.setNoDelay(true);
        const key = randomBytes(16).toString('base64');
        const request = Buffer.from(
          `GET /fuzz HTTP/1.1\r\nHost: ${HOST}:${wsPort}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n`,
        );
        const glued = c.glued && c.endAfter > 0;
        socket.write(glued ? Buffer.concat([request, chunks[0]!]) : request);
        const { head } = await within(readHead(socket), bound, 'no 101 from the server', interrupt);
        if (!head.startsWith('HTTP/1.1 101') || !/\r\nSec-WebSocket-Extensions: permessage-deflate/i.test(head)) {
          throw new Error(`harness: the server did not accept permessage-deflate:\n${head}`);
        }
        socket.on('data', () => undefined);
        const ws = await within(accepted, bound, 'no connection event', interrupt);
        await play(socket, c, chunks, glued ? 1 : 0);
        await within(ws.closed, bound, `the server's WebSocket did not close within ${bound} ms`, interrupt);
        await within(closedSocket(socket), bound, `socket: the server left the TCP connection open ${bound} ms after 'close'`, interrupt);
      } finally {
        connected = null;
        plan = null;
        socket.destroy();
        peerSockets.delete(socket);
      }
    }

    async function clientCase(c: NodeLayerCase): Promise<void> {
      const chunks = chunked(c.input, c.cuts);
      let played: Promise<void> = Promise.resolve();
      let rawSocket: Socket | null = null;
      const served = new Promise<void>((resolve) => {
        serving = (socket) => {
          serving = null;
          rawSocket = socket;
          socket.setNoDelay(true);
          played = (async () => {
            const { head } = await readHead(socket);
            const key = /\r\nSec-WebSocket-Key: *([^\r]*)/i.exec(head)?.[1]?.trim() ?? '';
            if (!/\r\nSec-WebSocket-Extensions: *permessage-deflate/i.test(head)) throw new Error(`harness: the client did not offer permessage-deflate:\n${head}`);
            const accept = createHash('sha1').update(key + GUID).digest('base64');
            const response = Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n`);
            const glued = c.glued && c.endAfter > 0;
            socket.write(glued ? Buffer.concat([response, chunks[0]!]) : response);
            socket.on('data', () => undefined);
            await play(socket, c, chunks, glued ? 1 : 0);
          })();
          played.catch(() => undefined);
          resolve();
        };
      });
      const ws = new WebSocket(`ws://${HOST}:${rawPort}/fuzz`);
      attachHandlers(ws, c.plan);
      try {
        await within(served, bound, 'the client did not connect', interrupt);
        await within(played, bound, 'the raw server could not play the case', interrupt);
        await within(ws.closed, bound, `the client WebSocket did not close within ${bound} ms`, interrupt);
        const socket = rawSocket as Socket | null;
        if (socket) await within(closedSocket(socket), bound, `socket: the client left the TCP connection open ${bound} ms after 'close'`, interrupt);
      } finally {
        serving = null;
        (rawSocket as Socket | null)?.destroy();
      }
    }
  } finally {
    for (const socket of [...peerSockets, ...rawSockets]) socket.destroy();
    // A connection left stuck by a failure must not hold the shutdown for its close timeout.
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => rawServer.close(() => resolve()));
    // After a failure a connection may never settle (that is the failure): do not wait for it.
    await within(wss.close(), failure === null ? bound : 200, 'the server did not finish close()').catch((error: unknown) => {
      if (failure === null) fail('server unusable', error, null);
    });
    // Errors from the teardown still count against the run.
    await immediate();
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onRejection);
  }
  const last = problems[0];
  if (failure === null && last) fail(last.kind, last.error, last.case);
  return { seed: options.seed, iterations, failure };
}

/** An honest client: open, send "ping", expect the text "ping" back, close. */
async function honestEcho(port: number): Promise<void> {
  const ws = new WebSocket(`ws://${HOST}:${port}/`);
  const echoed = new Promise<string>((resolve, reject) => {
    ws.once('message', (data, binary) => (binary ? reject(new Error('echo came back binary')) : resolve(String(data))));
    ws.once('close', (code) => reject(new Error(`closed with ${code} before the echo`)));
  });
  echoed.catch(() => undefined);
  await once(ws, 'open');
  ws.send('ping');
  const text = await echoed;
  if (text !== 'ping') throw new Error(`echo was ${JSON.stringify(text)}`);
  await ws.close(1000);
}
