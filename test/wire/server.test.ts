// Wire-level conformance of the real server on loopback, by Autobahn category: a raw-TCP peer
// sends bytes (valid, broken, hostile) and we assert the exact observable outcome — the frames
// echoed, the close code sent, that the server closes TCP, and how soon.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocketServer } from '../../src/index.js';
import { buildFrame, type RawFrame } from '../helpers/frames.js';
import { startServer } from '../helpers/node.js';
import { RawPeer } from './raw-peer.js';

let wss: WebSocketServer;
let port = 0;
beforeAll(async () => {
  const started = await startServer({ maxPayload: 16 * 1024 * 1024, maxFragments: 65_536, closeTimeout: 2000 });
  wss = started.wss;
  port = started.port;
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
});
afterAll(() => wss.close());

const close1000: RawFrame = { opcode: 8, payload: Uint8Array.of(0x03, 0xe8) };
const hex = (s: string) => Uint8Array.from((s.match(/../g) ?? []).map((h) => parseInt(h, 16)));

/** Send, then a close; the server must echo `expected`, answer 1000 and close TCP. */
async function expectEcho(frames: RawFrame[], expected: [number, Uint8Array | string][], chop = 0): Promise<void> {
  const peer = await RawPeer.toServer(port);
  peer.send(frames, chop).send(close1000);
  expect(await peer.waitClosed(10_000), 'server closed TCP').toBe(true);
  expect(peer.protocolError).toBeNull();
  expect(peer.dataFrames.map((f) => f.opcode)).toEqual(expected.map(([op]) => op));
  peer.dataFrames.forEach((f, i) => expect(f.payload.equals(Buffer.from(expected[i]![1] as string | Uint8Array))).toBe(true));
  expect(peer.closeCodes).toEqual([1000]);
}

/** Send; the server must answer with a close frame carrying `code` and close TCP within `ms`. */
async function expectFailure(frames: RawFrame[] | Uint8Array, code: number, echoed = 0, ms = 1000): Promise<RawPeer> {
  const peer = await RawPeer.toServer(port);
  if (frames instanceof Uint8Array) peer.write(frames);
  else peer.send(frames);
  expect(await peer.waitClosed(ms), `server closed TCP within ${ms} ms`).toBe(true);
  expect(peer.closeCodes).toEqual([code]);
  expect(peer.dataFrames.filter((f) => f.opcode !== 10)).toHaveLength(echoed);
  return peer;
}

describe('1 framing', () => {
  it.each([0, 125, 126, 127, 128, 65535, 65536])('echoes text and binary of %i bytes', async (n) => {
    await expectEcho([{ opcode: 1, payload: 'x'.repeat(n) }, { opcode: 2, payload: new Uint8Array(n).fill(0xfe) }], [[1, 'x'.repeat(n)], [2, new Uint8Array(n).fill(0xfe)]]);
  });
  it('echoes 64 KiB written in 997-byte chops', async () => {
    await expectEcho([{ opcode: 2, payload: new Uint8Array(65536).fill(3) }], [[2, new Uint8Array(65536).fill(3)]], 997);
  });
});

describe('2 ping/pong', () => {
  it('answers pings (125 bytes, byte by byte) and ignores unsolicited pongs', async () => {
    await expectEcho([{ opcode: 10, payload: 'unsolicited' }, { opcode: 9, payload: new Uint8Array(125).fill(0x36) }], [[10, new Uint8Array(125).fill(0x36)]], 1);
  });
  it('answers each of 10 pings', async () => {
    await expectEcho(Array.from({ length: 10 }, (_, i) => ({ opcode: 9, payload: `p${i}` })), Array.from({ length: 10 }, (_, i) => [10, `p${i}`] as [number, string]));
  });
  it('fails a 126-byte ping with 1002', async () => {
    await expectFailure([{ opcode: 9, payload: new Uint8Array(126) }], 1002);
  });
});

describe('3 reserved bits and 4 opcodes', () => {
  it.each([0x40, 0x20, 0x10, 0x70])('fails RSV %i with 1002 after echoing what came before', async (rsv) => {
    await expectFailure([{ opcode: 1, payload: 'before' }, { opcode: 1, rsv, payload: 'bad' }, { opcode: 9 }], 1002, 1);
  });
  it.each([3, 4, 5, 6, 7, 11, 12, 13, 14, 15])('fails opcode %i with 1002', async (opcode) => {
    await expectFailure([{ opcode, payload: 'r' }], 1002);
  });
});

describe('5 fragmentation', () => {
  it('reassembles fragments with pings between them', async () => {
    await expectEcho(
      [{ opcode: 1, fin: false, payload: 'frag' }, { opcode: 9, payload: 'p' }, { opcode: 0, fin: false, payload: 'men' }, { opcode: 0, payload: 'ted' }],
      [[10, 'p'], [1, 'fragmented']],
      1,
    );
  });
  it.each([
    ['a fragmented ping', [{ opcode: 9, fin: false, payload: 'a' }, { opcode: 0, payload: 'b' }]],
    ['a continuation without a message', [{ opcode: 0, payload: 'x' }]],
    ['a new message inside a fragmented one', [{ opcode: 1, fin: false, payload: 'a' }, { opcode: 1, payload: 'b' }]],
  ] as [string, RawFrame[]][])('fails %s with 1002', async (_name, frames) => {
    await expectFailure(frames, 1002);
  });
});

describe('6 UTF-8', () => {
  it('echoes valid multi-byte text split inside a code point across fragments', async () => {
    const text = new TextEncoder().encode('κόσμε😀');
    await expectEcho([{ opcode: 1, fin: false, payload: text.subarray(0, 5) }, { opcode: 0, payload: text.subarray(5) }], [[1, text]]);
  });
  it('fails invalid UTF-8 with 1007', async () => {
    await expectFailure([{ opcode: 1, payload: hex('cebae1bdb9cf83cebcceb5eda080656469746564') }], 1007);
  });
  it('fails invalid UTF-8 split across two fragments at every position with 1007', async () => {
    const bytes = hex('cebae1bdb9cf83cebcceb5eda080656469746564');
    for (let cut = 0; cut <= bytes.length; cut++) {
      await expectFailure([{ opcode: 1, fin: false, payload: bytes.subarray(0, cut) }, { opcode: 0, payload: bytes.subarray(cut) }], 1007);
    }
  });
  it('fails fast: 1007 arrives before the rest of the frame is sent (6.4.3)', async () => {
    const peer = await RawPeer.toServer(port);
    const payload = hex('cebae1bdb9cf83cebcceb5f4908080656469746564');
    const bytes = buildFrame({ opcode: 1, payload, mask: [1, 2, 3, 4] });
    const header = bytes.length - payload.length;
    peer.write(bytes.subarray(0, header + 15));
    expect(await peer.waitClosed(1000)).toBe(true);
    expect(peer.closeCodes).toEqual([1007]);
  });
});

describe('7 close handling', () => {
  it.each([1000, 1001, 1003, 1007, 1011, 3000, 4999])('echoes close code %i and closes TCP', async (code) => {
    const peer = await RawPeer.toServer(port);
    peer.send({ opcode: 8, payload: Uint8Array.of(code >> 8, code & 0xff, 0x6f, 0x6b) });
    expect(await peer.waitClosed(1000)).toBe(true);
    expect(peer.closeCodes).toEqual([code]);
  });
  it.each([0, 999, 1004, 1005, 1006, 1015, 2000, 5000, 65535])('fails close code %i with 1002', async (code) => {
    await expectFailure([{ opcode: 8, payload: Uint8Array.of(code >> 8, code & 0xff) }], 1002);
  });
  it('fails a 1-byte close payload with 1002 and a non-UTF-8 reason with 1007', async () => {
    await expectFailure([{ opcode: 8, payload: Uint8Array.of(3) }], 1002);
    await expectFailure([{ opcode: 8, payload: Uint8Array.of(3, 0xe8, 0xff) }], 1007);
  });
  it('ignores everything after the close frame', async () => {
    const peer = await RawPeer.toServer(port);
    peer.send([close1000, { opcode: 1, payload: 'late' }, { opcode: 9 }]);
    expect(await peer.waitClosed(1000)).toBe(true);
    expect(peer.dataFrames).toEqual([]);
    expect(peer.closeCodes).toEqual([1000]);
  });
  it('closes TCP itself when a peer half-closes without a close frame', async () => {
    const peer = await RawPeer.toServer(port);
    peer.socket.end();
    expect(await peer.waitClosed(1000)).toBe(true);
    expect(peer.closeCodes).toEqual([]);
  });
  it('fails a 2^63 length with 1002', async () => {
    await expectFailure(Uint8Array.of(0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4), 1002);
  });
});

describe('9 limits and 10 auto-fragmentation', () => {
  it('echoes a 4 MiB text message', async () => {
    const text = 'A'.repeat(4 * 1024 * 1024);
    await expectEcho([{ opcode: 1, payload: text }], [[1, text]], 65536);
  });
  it('echoes a 1 MiB binary message sent in 16,384 fragments of 64 bytes', async () => {
    const payload = new Uint8Array(1024 * 1024).map((_, i) => i & 0xff);
    const frames: RawFrame[] = [];
    for (let o = 0; o < payload.length; o += 64) frames.push({ opcode: o === 0 ? 2 : 0, fin: o + 64 >= payload.length, payload: payload.subarray(o, o + 64) });
    await expectEcho(frames, [[2, payload]]);
  });
  it('fails a message over maxPayload with 1009 from its header', async () => {
    await expectFailure(Uint8Array.of(0x82, 0xff, 0, 0, 0, 0, 0x10, 0, 0, 1, 1, 2, 3, 4), 1009);
  });
  it('echoes 1000 small messages in order', async () => {
    const frames = Array.from({ length: 1000 }, (_, i) => ({ opcode: 1, payload: `m${i}` }));
    await expectEcho(frames, frames.map((f) => [1, f.payload] as [number, string]));
  });
});
