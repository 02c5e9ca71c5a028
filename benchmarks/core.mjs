// Core benchmarks, side by side with ws in the same process: frame decoding (masked client frames
// at several sizes, arriving in 64 KiB reads), frame encoding (server and client), masking and
// UTF-8 validation. ws is measured twice: as installed by default (pure-JS masking) and with
// bufferutil. Run with `npm run bench` (builds first). Needs only this project's dev dependencies.
import { isUtf8 } from 'node:buffer';
import { randomFillSync } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { applyMask, FrameEncoder, MaskKeyPool, Protocol, Utf8Validator } from '../dist/index.js';

const require = createRequire(import.meta.url);

function loadWs(pureJs) {
  for (const key of Object.keys(require.cache)) if (key.includes('/node_modules/ws/')) delete require.cache[key];
  if (pureJs) process.env.WS_NO_BUFFER_UTIL = '1';
  else delete process.env.WS_NO_BUFFER_UTIL;
  const ws = require('ws');
  // Internal modules, reached by path (ws's exports map hides them) to measure its masking and UTF-8 paths.
  const wsDir = dirname(require.resolve('ws/package.json'));
  const bufferUtil = require(join(wsDir, 'lib', 'buffer-util.js'));
  const validation = require(join(wsDir, 'lib', 'validation.js'));
  return { Receiver: ws.Receiver, Sender: ws.Sender, mask: bufferUtil.mask, isValidUTF8: validation.isValidUTF8 };
}
const wsJs = loadWs(true);
const wsNative = loadWs(false);
const bufferutil = require('bufferutil');
const utf8Validate = require('utf-8-validate');

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const TARGET_MS = Number(process.env.BENCH_MS ?? 300);

/** Median ops/s of `fn` (which performs `opsPerCall` operations per call; `prepare` is untimed). */
function measure(fn, opsPerCall, prepare = () => undefined) {
  // warm up
  for (let i = 0; i < 3; i++) fn(prepare());
  const rates = [];
  for (let r = 0; r < RUNS; r++) {
    let ops = 0;
    let elapsed = 0n;
    const budget = BigInt(TARGET_MS) * 1_000_000n;
    while (elapsed < budget) {
      const input = prepare();
      const t0 = process.hrtime.bigint();
      fn(input);
      elapsed += process.hrtime.bigint() - t0;
      ops += opsPerCall;
    }
    rates.push((ops * 1e9) / Number(elapsed));
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)];
}

const rows = [];
function report(group, name, unit, ours, wsJsRate, wsNativeRate, extra = {}) {
  rows.push({ group, name, unit, ours, wsJsRate, wsNativeRate, ...extra });
  const fmt = (v) => (v === undefined ? '—' : v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(1));
  const ratio = (v) => (v === undefined ? '—' : `${(ours / v).toFixed(2)}×`);
  console.log(
    `${group.padEnd(8)} ${name.padEnd(26)} ${unit.padEnd(8)} ours ${fmt(ours).padStart(8)} | ws ${fmt(wsJsRate).padStart(8)} (${ratio(wsJsRate).padStart(6)}) | ws+bufferutil ${fmt(wsNativeRate).padStart(8)} (${ratio(wsNativeRate).padStart(6)})` +
      Object.entries(extra).map(([k, v]) => ` | ${k} ${fmt(v)} (${ratio(v)})`).join(''),
  );
}

// ---------------------------------------------------------------------------------------------
// Decoding: a stream of masked client frames, cut into 64 KiB reads.
function maskedStream(size, count, opcode) {
  const encoder = new FrameEncoder(new MaskKeyPool((b) => randomFillSync(b)), Buffer.allocUnsafe);
  const payload = Buffer.alloc(size, opcode === 1 ? 'a' : 0xab);
  const parts = [];
  for (let i = 0; i < count; i++) encoder.encode(opcode, payload, true, 0, parts);
  return Buffer.concat(parts);
}
function cut(stream, chunk) {
  const chunks = [];
  for (let i = 0; i < stream.length; i += chunk) chunks.push(stream.subarray(i, i + chunk));
  return chunks;
}
const copyChunks = (chunks) => chunks.map((c) => Buffer.from(c));

const decodeCases = [
  [2, 20_000, 2],
  [20, 20_000, 2],
  [125, 10_000, 2],
  [64 * 1024, 64, 2],
  [1024 * 1024, 8, 2],
  [125, 10_000, 1],
  [64 * 1024, 64, 1],
];
for (const [size, count, opcode] of decodeCases) {
  const chunks = cut(maskedStream(size, count, opcode), 64 * 1024);
  const prepare = () => copyChunks(chunks);
  const ours = measure((input) => {
    const p = new Protocol({ role: 'server', maxPayload: 2 ** 30, isUtf8, allocate: Buffer.allocUnsafe });
    let n = 0;
    for (const c of input) {
      p.receiveData(c);
      n += p.eventsReceived().length;
    }
    if (n !== count) throw new Error(`ours decoded ${n}/${count}`);
  }, count, prepare);
  const wsRate = (ws) =>
    measure((input) => {
      const r = new ws.Receiver({ isServer: true, maxPayload: 2 ** 30 });
      let n = 0;
      r.on('message', () => n++);
      for (const c of input) r.write(c);
      if (n !== count) throw new Error(`ws decoded ${n}/${count}`);
    }, count, prepare);
  report('decode', `${opcode === 1 ? 'text' : 'binary'} ${size} B`, 'frames/s', ours, wsRate(wsJs), wsRate(wsNative));
}

// ---------------------------------------------------------------------------------------------
// Encoding: one frame per call, server (unmasked) and client (masked).
for (const masked of [false, true]) {
  for (const size of [2, 20, 125, 64 * 1024, 1024 * 1024]) {
    const payload = Buffer.alloc(size, 0x61);
    const batch = size >= 65536 ? 16 : 2000;
    const encoder = new FrameEncoder(masked ? new MaskKeyPool((b) => randomFillSync(b)) : null, Buffer.allocUnsafe);
    // Ours appends to one output list, as the Protocol does; ws returns a new array per frame.
    const out = [];
    const ours = measure(() => {
      for (let i = 0; i < batch; i++) {
        encoder.encode(2, payload, true, 0, out);
        if (out.length >= 256) out.length = 0;
      }
      out.length = 0;
    }, batch);
    const wsRate = (ws) =>
      measure(() => {
        for (let i = 0; i < batch; i++) ws.Sender.frame(payload, { fin: true, opcode: 2, mask: masked, readOnly: true });
      }, batch);
    report('encode', `${masked ? 'client' : 'server'} ${size} B`, 'frames/s', ours, wsRate(wsJs), wsRate(wsNative));
  }
}

// ---------------------------------------------------------------------------------------------
// Masking, MB/s (copying mask, as a client does when sending).
for (const size of [125, 64 * 1024, 1024 * 1024]) {
  const source = randomFillSync(Buffer.alloc(size));
  const target = Buffer.alloc(size + 8);
  const key = Buffer.from([1, 2, 3, 4]);
  const reps = Math.max(1, Math.floor((4 * 1024 * 1024) / size));
  const mb = (size * reps) / 1e6;
  const ours = measure(() => {
    for (let i = 0; i < reps; i++) applyMask(source, target, 0, key, 0);
  }, mb);
  const wsJsRate = measure(() => {
    for (let i = 0; i < reps; i++) wsJs.mask(source, key, target, 0, size);
  }, mb);
  const nativeRate = measure(() => {
    for (let i = 0; i < reps; i++) bufferutil.mask(source, key, target, 0, size);
  }, mb);
  report('mask', `${size} B`, 'MB/s', ours, wsJsRate, nativeRate);
}

// ---------------------------------------------------------------------------------------------
// UTF-8 validation, MB/s: our JS incremental validator vs ws (buffer.isUtf8 / small-buffer JS),
// utf-8-validate and buffer.isUtf8 directly.
const ascii = Buffer.alloc(1024 * 1024, 'abcdefghij');
const mixed = Buffer.from('Hello-µ@ßöäüàá-UTF-8!! κόσμε 😀 '.repeat(Math.ceil((1024 * 1024) / 40))).subarray(0, 1024 * 1024);
const mixedValid = mixed.subarray(0, mixed.lastIndexOf(0x20));
for (const [name, data] of [
  ['ASCII 1 MiB', ascii],
  ['mixed 1 MiB', mixedValid],
  ['ASCII 125 B', ascii.subarray(0, 125)],
]) {
  const reps = Math.max(1, Math.floor((4 * 1024 * 1024) / data.length));
  const mb = (data.length * reps) / 1e6;
  const validator = new Utf8Validator();
  const ours = measure(() => {
    for (let i = 0; i < reps; i++) {
      validator.reset();
      if (!validator.write(data)) throw new Error('invalid');
    }
  }, mb);
  const wsRate = measure(() => {
    for (let i = 0; i < reps; i++) wsNative.isValidUTF8(data);
  }, mb);
  const uv = measure(() => {
    for (let i = 0; i < reps; i++) utf8Validate(data);
  }, mb);
  const bi = measure(() => {
    for (let i = 0; i < reps; i++) isUtf8(data);
  }, mb);
  report('utf8', name, 'MB/s', ours, wsRate, undefined, { 'utf-8-validate': uv, 'buffer.isUtf8': bi });
}

if (process.env.BENCH_JSON) console.log(JSON.stringify(rows));
