import { describe, expect, it } from 'vitest';
import {
  assertConnectionFailing,
  assertFramesSent,
  clientProtocol,
  closeCodeOfFrame,
  messages,
  peerFrame,
  sent,
  serverProtocol,
} from '../../test/helpers/protocol.js';
import { CloseCode, Opcode, Phase, Role, State } from './constants.js';
import { closeFrameFor, ErrorCode, WebSocketError } from './errors.js';
import { MAX_PENDING_PONGS, Protocol, type ProtocolOptions, SEND_EOF } from './protocol.js';

const concat = (parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((x) => [...x]));
const enc = (s: string) => new TextEncoder().encode(s);
const closePayload = (code: number, reason = '') => Uint8Array.from([code >> 8, code & 0xff, ...enc(reason)]);

describe('options', () => {
  it('rejects unknown keys and out-of-range limits', () => {
    expect(() => serverProtocol({ maxMessageSize: 1 } as never)).toThrow(/unknown option "maxMessageSize"/);
    expect(() => serverProtocol({ maxPayload: -1 })).toThrow(WebSocketError);
    expect(() => serverProtocol({ maxFragments: 0 })).toThrow(/maxFragments/);
    expect(() => serverProtocol({ autoPong: 'yes' as never })).toThrow(/boolean/);
    // An own "__proto__" key (as JSON.parse makes) is just another unknown key.
    expect(() => serverProtocol(JSON.parse('{"__proto__": {"maxPayload": 1}}'))).toThrow(/unknown option "__proto__"/);
  });

  it('one options object shared by many protocols is read again once it changes', () => {
    const options: { -readonly [K in keyof ProtocolOptions]: ProtocolOptions[K] } = { role: Role.Server, maxPayload: 10 };
    expect(new Protocol(options).role).toBe(Role.Server);
    options.role = Role.Client;
    expect(new Protocol(options).role).toBe(Role.Client);
    options.role = 'nobody' as Role;
    expect(() => new Protocol(options)).toThrow(/role/);
  });
});

describe('§5.1 masking', () => {
  it('a server fails an unmasked frame with 1002', () => {
    const p = serverProtocol();
    p.receiveData(Uint8Array.of(0x81, 0x01, 0x78));
    assertConnectionFailing(p, 1002);
  });
  it('a client fails a masked frame with 1002', () => {
    const p = clientProtocol();
    p.receiveData(peerFrame(p, { opcode: Opcode.Text, payload: 'x', mask: [1, 2, 3, 4] }));
    assertConnectionFailing(p, 1002);
  });
  it('a client masks every frame it sends with a fresh key', () => {
    const p = clientProtocol();
    p.sendText('same');
    p.sendText('same');
    const raw = p.dataToSend() as Uint8Array[];
    expect(raw[0]![1]! & 0x80).toBe(0x80);
    expect(Array.from(raw[0]!.subarray(2, 6))).not.toEqual(Array.from(raw[1]!.subarray(2, 6)));
  });
  it('a server never masks', () => {
    const p = serverProtocol();
    p.sendBinary(new Uint8Array(3));
    const raw = p.dataToSend() as Uint8Array[];
    expect(raw[0]![1]! & 0x80).toBe(0);
  });
});

describe('§5.2 base framing', () => {
  it.each([0x40, 0x20, 0x10])('fails RSV bits %i without an extension with 1002', (rsv) => {
    const p = serverProtocol();
    p.receiveData(peerFrame(p, { opcode: Opcode.Text, payload: 'x', rsv }));
    assertConnectionFailing(p, 1002);
  });
  it('fails a reserved opcode with 1002 and discards what follows', () => {
    const p = serverProtocol();
    p.receiveData(Uint8Array.from([...peerFrame(p, { opcode: 5 }), ...peerFrame(p, { opcode: Opcode.Text, payload: 'after' })]));
    const events = p.eventsReceived();
    expect(messages(events)).toEqual([]);
    assertConnectionFailing(p, 1002, events);
  });
  it('accepts RSV1 on a first frame when an extension claims it', () => {
    const p = serverProtocol({ extensions: [{ name: 'permessage-deflate', rsv: 0x40 }] });
    p.receiveData(peerFrame(p, { opcode: Opcode.Binary, payload: 'zz', rsv: 0x40 }));
    const [event] = p.eventsReceived();
    expect(event).toMatchObject({ type: 'message', compressed: true });
  });
});

describe('§5.4 fragmentation', () => {
  it('reassembles fragments with control frames in between', () => {
    const p = serverProtocol();
    p.receiveData(peerFrame(p, { opcode: Opcode.Text, payload: 'fra', fin: false }));
    p.receiveData(peerFrame(p, { opcode: Opcode.Ping, payload: 'p' }));
    p.receiveData(peerFrame(p, { opcode: Opcode.Continuation, payload: 'gmen', fin: false }));
    p.receiveData(peerFrame(p, { opcode: Opcode.Pong, payload: 'q' }));
    p.receiveData(peerFrame(p, { opcode: Opcode.Continuation, payload: 'ted', fin: true }));
    const events = p.eventsReceived();
    expect(events.map((e) => e.type)).toEqual(['ping', 'pong', 'message']);
    expect(messages(events)).toEqual([[false, 'fragmented']]);
    assertFramesSent(p, [[Opcode.Pong, 'p']]);
  });
  it('fails a continuation without a start with 1002', () => {
    const p = serverProtocol();
    p.receiveData(peerFrame(p, { opcode: Opcode.Continuation, payload: 'x' }));
    assertConnectionFailing(p, 1002);
  });
  it('fails a new message inside a fragmented one with 1002', () => {
    const p = serverProtocol();
    p.receiveData(peerFrame(p, { opcode: Opcode.Text, payload: 'a', fin: false }));
    p.receiveData(peerFrame(p, { opcode: Opcode.Text, payload: 'b' }));
    assertConnectionFailing(p, 1002);
  });
  it('sends fragmented messages and refuses to interleave them', () => {
    const p = serverProtocol();
    expect(() => p.sendContinuation(enc('x'))).toThrow(/no fragmented message/);
    p.sendText('Hel', false);
    expect(() => p.sendBinary(enc('x'))).toThrow(/still being sent/);
    p.sendPing(enc('between'));
    p.sendContinuation(enc('lo'), true);
    const out = sent(p);
    expect(out.frames.map((f) => [f.opcode, f.fin])).toEqual([
      [Opcode.Text, false],
      [Opcode.Ping, true],
      [Opcode.Continuation, true],
    ]);
  });
  it('splits outgoing messages at fragmentSize', () => {
    const p = serverProtocol({ fragmentSize: 4 });
    p.sendText('0123456789');
    const out = sent(p);
    expect(out.frames.map((f) => [f.opcode, f.fin, new TextDecoder().decode(f.payload)])).toEqual([
      [Opcode.Text, false, '0123'],
      [Opcode.Continuation, false, '4567'],
      [Opcode.Continuation, true, '89'],
    ]);
  });
});

describe('§5.5 control frames', () => {
  it('fails a control frame over 125 bytes with 1002', () => {
    const p = serverProtocol();
    p.receiveData(peerFrame(p, { opcode: Opcode.Ping, payload: new Uint8Array(126) }));
    assertConnectionFailing(p, 1002);
  });
  it('fails a fragmented control frame with 1002', () => {
    const p = serverProtocol();
    p.receiveData(peerFrame(p, { opcode: Opcode.Pong, fin: false }));
    assertConnectionFailing(p, 1002);
  });
  it('§5.5.2 answers a ping with a pong carrying the same payload', () => {
    const p = clientProtocol();
    p.receiveData(peerFrame(p, { opcode: Opcode.Ping, payload: 'Hello' }));
    expect(p.eventsReceived()).toMatchObject([{ type: 'ping' }]);
    assertFramesSent(p, [[Opcode.Pong, 'Hello']]);
  });
  it('answers each ping of a burst (Autobahn 2.10)', () => {
    const p = serverProtocol();
    for (let i = 0; i < 10; i++) p.receiveData(peerFrame(p, { opcode: Opcode.Ping, payload: `payload-${i}` }));
    assertFramesSent(p, Array.from({ length: 10 }, (_, i) => [Opcode.Pong, `payload-${i}`] as [number, string]));
  });
  it(`§5.5.3 keeps at most ${MAX_PENDING_PONGS} pending pongs: a ping flood cannot grow the output`, () => {
    const p = serverProtocol();
    for (let i = 0; i < 10_000; i++) p.receiveData(peerFrame(p, { opcode: Opcode.Ping, payload: `ping ${i}` }));
    expect(p.eventsReceived()).toHaveLength(10_000);
    const expected = Array.from({ length: MAX_PENDING_PONGS - 1 }, (_, i) => [Opcode.Pong, `ping ${i}`] as [number, string]);
    assertFramesSent(p, [...expected, [Opcode.Pong, 'ping 9999']]);
  });
  it('keeps pending pongs before a close frame queued later', () => {
    const p = serverProtocol();
    p.receiveData(peerFrame(p, { opcode: Opcode.Ping, payload: 'a' }));
    p.receiveData(peerFrame(p, { opcode: Opcode.Ping, payload: 'b' }));
    p.sendClose(1000);
    const out = sent(p);
    expect(out.frames.map((f) => f.opcode)).toEqual([Opcode.Pong, Opcode.Pong, Opcode.Close]);
    expect(new TextDecoder().decode(out.frames[1]!.payload)).toBe('b');
    expect(closeCodeOfFrame(out.frames[2]!)).toBe(1000);
  });
  it('a pong slot drained with the output is never reused for later frames', () => {
    const p = serverProtocol();
    p.receiveData(peerFrame(p, { opcode: Opcode.Ping, payload: 'one' }));
    assertFramesSent(p, [[Opcode.Pong, 'one']]);
    p.sendText('data');
    p.receiveData(peerFrame(p, { opcode: Opcode.Ping, payload: 'two' }));
    assertFramesSent(p, [
      [Opcode.Text, 'data'],
      [Opcode.Pong, 'two'],
    ]);
  });
  it('does not answer pings after its own close frame', () => {
    const p = serverProtocol();
    p.sendClose(1000);
    sent(p);
    p.receiveData(peerFrame(p, { opcode: Opcode.Ping, payload: 'late' }));
    expect(sent(p).frames).toEqual([]);
  });
  it('does not answer pings when autoPong is off, but reports them', () => {
    const p = serverProtocol({ autoPong: false });
    p.receiveData(peerFrame(p, { opcode: Opcode.Ping, payload: 'x' }));
    expect(p.eventsReceived()).toMatchObject([{ type: 'ping' }]);
    expect(sent(p).frames).toEqual([]);
  });
  it('refuses to send a control payload over 125 bytes', () => {
    expect(() => serverProtocol().sendPing(new Uint8Array(126))).toThrow(/125/);
  });
});

describe('§5.5.1 / §7 closing handshake', () => {
  it('peer-initiated, server side: echoes the code, then closes TCP first', () => {
    const p = serverProtocol();
    p.receiveData(peerFrame(p, { opcode: Opcode.Close, payload: closePayload(4000, 'bye') }));
    expect(p.eventsReceived()).toEqual([{ type: 'close', code: 4000, reason: 'bye' }]);
    const out = sent(p);
    expect(out.frames.map(closeCodeOfFrame)).toEqual([4000]);
    expect(out.eof).toBe(true);
    expect(out.raw[out.raw.length - 1]).toBe(SEND_EOF);
    expect(p.state).toBe(State.Closing);
    p.receiveEof();
    expect(p.state).toBe(State.Closed);
    expect(p.eventsReceived()).toEqual([{ type: 'closed', code: 4000, reason: 'bye', wasClean: true }]);
  });
  it('peer-initiated, client side: replies and waits for the server to close TCP', () => {
    const p = clientProtocol();
    p.receiveData(peerFrame(p, { opcode: Opcode.Close, payload: closePayload(1001) }));
    const out = sent(p);
    expect(out.frames.map(closeCodeOfFrame)).toEqual([1001]);
    expect(out.eof).toBe(false);
    expect(p.closeExpected()).toBe(true);
    p.receiveEof();
    expect(sent(p).eof).toBe(true);
    expect(p.eventsReceived().at(-1)).toEqual({ type: 'closed', code: 1001, reason: '', wasClean: true });
  });
  it('replies to an empty close frame with an empty close frame', () => {
    const p = serverProtocol();
    p.receiveData(peerFrame(p, { opcode: Opcode.Close }));
    expect(p.eventsReceived()).toEqual([{ type: 'close', code: 1005, reason: '' }]);
    const out = sent(p);
    expect(out.frames[0]!.payload).toHaveLength(0);
  });
  it('locally initiated: still delivers messages until the close reply, then the server closes TCP', () => {
    const p = serverProtocol();
    p.sendClose(1000, 'done');
    expect(p.state).toBe(State.Closing);
    expect(p.closeExpected()).toBe(true);
    expect(sent(p).eof).toBe(false);
    expect(() => p.sendText('late')).toThrow(WebSocketError);
    expect(() => p.sendClose()).toThrow(/only be sent while open/);
    p.receiveData(peerFrame(p, { opcode: Opcode.Text, payload: 'in flight' }));
    p.receiveData(peerFrame(p, { opcode: Opcode.Close, payload: closePayload(1000) }));
    expect(messages(p.eventsReceived())).toEqual([[false, 'in flight']]);
    const out = sent(p);
    expect(out.frames).toEqual([]);
    expect(out.eof).toBe(true);
  });
  it('sends the close reply after replies to messages that arrived with the close frame', () => {
    const p = serverProtocol();
    p.receiveData(Uint8Array.from([...peerFrame(p, { opcode: Opcode.Text, payload: 'last words' }), ...peerFrame(p, { opcode: Opcode.Close, payload: closePayload(1000) })]));
    expect(p.eventsReceived().map((e) => e.type)).toEqual(['message', 'close']);
    expect(p.state).toBe(State.Open);
    p.sendText('echo: last words');
    const out = sent(p);
    expect(out.frames.map((f) => f.opcode)).toEqual([Opcode.Text, Opcode.Close]);
    expect(out.eof).toBe(true);
    expect(p.state).toBe(State.Closing);
  });
  it('discards everything after the peer close frame', () => {
    const p = serverProtocol();
    p.receiveData(Uint8Array.from([
      ...peerFrame(p, { opcode: Opcode.Close, payload: closePayload(1000) }),
      ...peerFrame(p, { opcode: Opcode.Text, payload: 'ignored' }),
      ...peerFrame(p, { opcode: 3 }),
    ]));
    expect(p.eventsReceived().map((e) => e.type)).toEqual(['close']);
  });
  it.each([
    ['1-byte payload', 1002, Uint8Array.of(0x03)],
    ['code 1005 on the wire', 1002, closePayload(1005)],
    ['code 1006 on the wire', 1002, closePayload(1006)],
    ['code 999', 1002, closePayload(999)],
    ['code 2000', 1002, closePayload(2000)],
    ['code 5000', 1002, closePayload(5000)],
    ['invalid UTF-8 reason', 1007, Uint8Array.of(0x03, 0xe8, 0xff)],
  ])('fails a close frame with %s with %i', (_name, code, payload) => {
    const p = serverProtocol();
    p.receiveData(peerFrame(p, { opcode: Opcode.Close, payload }));
    assertConnectionFailing(p, code);
  });
  it('reports 1006 and not clean when TCP ends without a close frame', () => {
    const p = serverProtocol();
    p.receiveData(peerFrame(p, { opcode: Opcode.Text, payload: 'partial', fin: false }));
    p.receiveEof();
    expect(p.eventsReceived()).toEqual([{ type: 'closed', code: CloseCode.AbnormalClosure, reason: '', wasClean: false }]);
    expect(sent(p).eof).toBe(true);
    p.receiveData(peerFrame(p, { opcode: Opcode.Text, payload: 'x' }));
    p.receiveEof();
    expect(p.eventsReceived()).toEqual([]);
  });
  it('refuses to send reserved close codes', () => {
    const p = serverProtocol();
    expect(() => p.sendClose(1006)).toThrow(WebSocketError);
    expect(() => p.sendClose(1015)).toThrow(WebSocketError);
    expect(p.state).toBe(State.Open);
  });
});

describe('§7.1.7 failing the connection', () => {
  it('lets replies to messages before a bad frame (same chunk) go out ahead of the close frame', () => {
    const p = serverProtocol();
    p.receiveData(Uint8Array.from([...peerFrame(p, { opcode: Opcode.Text, payload: 'first' }), ...peerFrame(p, { opcode: 6 }), ...peerFrame(p, { opcode: Opcode.Text, payload: 'never' })]));
    const events = p.eventsReceived();
    expect(events.map((e) => e.type)).toEqual(['message', 'error']);
    expect(p.state).toBe(State.Open);
    p.sendText('reply to first');
    const out = sent(p);
    expect(out.frames.map((f) => f.opcode)).toEqual([Opcode.Text, Opcode.Close]);
    expect(closeCodeOfFrame(out.frames[1]!)).toBe(1002);
    expect(out.eof).toBe(true);
    expect(p.state).toBe(State.Closing);
    expect(() => p.sendText('too late')).toThrow(WebSocketError);
  });
  it('applies a pending failure when the transport ends first', () => {
    const p = serverProtocol();
    p.receiveData(peerFrame(p, { opcode: 6 }));
    p.receiveEof();
    const out = sent(p);
    expect(out.frames.map(closeCodeOfFrame)).toEqual([1002]);
    expect(p.eventsReceived().map((e) => e.type)).toEqual(['error', 'closed']);
  });
});

describe('§8.1 text and limits', () => {
  it('delivers text and binary messages', () => {
    const p = serverProtocol();
    p.receiveData(peerFrame(p, { opcode: Opcode.Text, payload: 'κόσμε' }));
    p.receiveData(peerFrame(p, { opcode: Opcode.Binary, payload: Uint8Array.of(0xff, 0) }));
    const events = p.eventsReceived();
    expect(messages(events)[0]).toEqual([false, 'κόσμε']);
    expect(events[1]).toMatchObject({ type: 'message', binary: true, data: Uint8Array.of(0xff, 0) });
  });
  it('fails invalid UTF-8 with 1007, even split across fragments', () => {
    const p = serverProtocol();
    p.receiveData(peerFrame(p, { opcode: Opcode.Text, payload: Uint8Array.of(0xce, 0xba, 0xe1), fin: false }));
    expect(p.eventsReceived()).toEqual([]);
    p.receiveData(peerFrame(p, { opcode: Opcode.Continuation, payload: Uint8Array.of(0xbd, 0xed, 0xa0, 0x80), fin: false }));
    assertConnectionFailing(p, 1007);
  });
  it('fails a message over maxPayload with 1009 from the header', () => {
    const p = serverProtocol({ maxPayload: 10 });
    const frame = peerFrame(p, { opcode: Opcode.Binary, payload: new Uint8Array(11) });
    p.receiveData(frame.subarray(0, 6));
    assertConnectionFailing(p, 1009);
  });
  it('fails a frame over maxFrameSize with 1009', () => {
    const p = serverProtocol({ maxFrameSize: 4 });
    p.receiveData(peerFrame(p, { opcode: Opcode.Binary, payload: new Uint8Array(5) }));
    assertConnectionFailing(p, 1009);
  });
  it('uses a short reason for protocol errors and none for 1011', () => {
    const p = serverProtocol();
    p.receiveData(peerFrame(p, { opcode: 4 }));
    const close = sent(p).frames[0]!;
    expect(new TextDecoder().decode(close.payload.subarray(2))).toBe('invalid opcode 4');
    const q = serverProtocol();
    q.fail(1011, 'secret detail');
    expect(sent(q).frames[0]!.payload).toHaveLength(15);
  });
});

describe('phase: who closed (one source of truth for drivers)', () => {
  it('Open → ClosedByUs → CloseAcknowledged → Closed when we close first', () => {
    const p = clientProtocol();
    expect(p.phase).toBe(Phase.Open);
    expect(p.canSend).toBe(true);
    p.sendClose(1000);
    expect(p.phase).toBe(Phase.ClosedByUs);
    expect(p.canSend).toBe(false);
    p.receiveData(peerFrame(p, { opcode: Opcode.Close, payload: closePayload(1000) }));
    expect(p.phase).toBe(Phase.CloseAcknowledged);
    p.receiveEof();
    expect(p.phase).toBe(Phase.Closed);
  });
  it('ClosedByPeer while our reply is owed; the reply can be held while earlier sends finish', () => {
    const p = serverProtocol();
    p.receiveData(peerFrame(p, { opcode: Opcode.Close, payload: closePayload(4001) }));
    expect(p.phase).toBe(Phase.ClosedByPeer);
    // A message accepted before the close was seen still goes out before the close reply (§5.5.1).
    expect(p.canSend).toBe(true);
    expect(p.dataToSend(true)).toEqual([]);
    p.sendText('last words');
    const out = sent(p);
    expect(out.frames.map((f) => f.opcode)).toEqual([Opcode.Text, Opcode.Close]);
    expect(closeCodeOfFrame(out.frames[1]!)).toBe(4001);
    expect(p.phase).toBe(Phase.CloseAcknowledged);
    expect(p.canSend).toBe(false);
  });
  it('Failed after a protocol error, before and after the close frame is written', () => {
    const p = serverProtocol();
    p.receiveData(peerFrame(p, { opcode: 0x3, payload: '' }));
    p.dataToSend();
    expect(p.phase).toBe(Phase.Failed);
    const q = serverProtocol();
    q.fail(1008, 'policy');
    expect(q.phase).toBe(Phase.Failed);
  });
});

describe('nextEvent: delivery one event at a time', () => {
  it('hands out events in order and reports when the end was delivered', () => {
    const p = serverProtocol();
    p.receiveData(
      concat([
        peerFrame(p, { opcode: Opcode.Text, payload: 'a' }),
        peerFrame(p, { opcode: Opcode.Text, payload: 'b' }),
        peerFrame(p, { opcode: Opcode.Close, payload: closePayload(1000) }),
      ]),
    );
    expect(p.nextEvent()).toMatchObject({ type: 'message' });
    expect(p.endReported).toBe(false);
    expect(p.nextEvent()).toMatchObject({ type: 'message' });
    expect(p.nextEvent()).toMatchObject({ type: 'close', code: 1000 });
    expect(p.endReported).toBe(true);
    expect(p.nextEvent()).toBeUndefined();
  });
  it('eventsReceived takes whatever nextEvent left', () => {
    const p = serverProtocol();
    p.receiveData(concat([peerFrame(p, { opcode: Opcode.Text, payload: 'a' }), peerFrame(p, { opcode: Opcode.Text, payload: 'b' })]));
    p.nextEvent();
    expect(p.eventsReceived()).toMatchObject([{ type: 'message' }]);
    expect(p.nextEvent()).toBeUndefined();
  });
});

describe('error ladder', () => {
  it('maps protocol errors to their code and message, and anything else to a bare 1011', () => {
    expect(closeFrameFor(new WebSocketError(ErrorCode.InvalidUtf8, 'bad text'))).toEqual({ code: 1007, reason: 'bad text' });
    expect(closeFrameFor(new WebSocketError(ErrorCode.MessageTooBig, 'too big'))).toEqual({ code: 1009, reason: 'too big' });
    expect(closeFrameFor(new WebSocketError(ErrorCode.InternalError, 'secret detail'))).toEqual({ code: 1011, reason: '' });
    expect(closeFrameFor(new Error('stack trace here'))).toEqual({ code: 1011, reason: '' });
    expect(closeFrameFor(new WebSocketError(ErrorCode.InvalidState, 'misuse'))).toEqual({ code: 1011, reason: '' });
  });
});

describe('robustness', () => {
  it('never throws out of receiveData, whatever the bytes', () => {
    for (let seed = 1; seed < 200; seed++) {
      const p = seed % 2 ? serverProtocol({ maxPayload: 1000 }) : clientProtocol({ maxPayload: 1000 });
      let x = seed;
      const bytes = new Uint8Array(512).map(() => ((x = (x * 1103515245 + 12345) >>> 0), x >>> 24));
      expect(() => {
        p.receiveData(bytes);
        p.receiveEof();
      }).not.toThrow();
      expect(p.state).toBe(State.Closed);
    }
  });
  it('reports errors with stable codes', () => {
    const p = serverProtocol();
    p.receiveData(peerFrame(p, { opcode: Opcode.Continuation }));
    const [event] = p.eventsReceived();
    expect(event).toMatchObject({ type: 'error', error: { code: ErrorCode.UnexpectedContinuation, closeCode: 1002 } });
  });
});

describe('input decoding shared between connections', () => {
  // Between frames a connection holds no decoder; one is lent to whichever connection receives.
  // These interleavings would mix up streams if a lent decoder kept any state of the last one.
  it('connections cut mid-header, mid-payload and mid-control-frame keep their own frames while others decode', () => {
    const a = serverProtocol();
    const b = serverProtocol();
    const c = serverProtocol();
    const big = 'x'.repeat(300);
    const aBytes = concat([peerFrame(a, { opcode: Opcode.Text, payload: big }), peerFrame(a, { opcode: Opcode.Text, payload: 'after' })]);
    const cBytes = peerFrame(c, { opcode: Opcode.Ping, payload: 'ping-payload', mask: [9, 8, 7, 6] });
    a.receiveData(aBytes.slice(0, 3)); // header cut: length byte only
    c.receiveData(cBytes.slice(0, 9)); // control frame cut in its payload
    b.receiveData(peerFrame(b, { opcode: Opcode.Text, payload: 'b1', mask: [1, 1, 1, 1] }));
    a.receiveData(aBytes.slice(3, 100)); // payload cut
    b.receiveData(peerFrame(b, { opcode: Opcode.Binary, payload: 'b2', mask: [2, 3, 4, 5] }));
    expect(a.inputPending).toBe(true);
    expect(b.inputPending).toBe(false);
    c.receiveData(cBytes.slice(9));
    a.receiveData(aBytes.slice(100));
    expect(messages(a.eventsReceived())).toEqual([
      [false, big],
      [false, 'after'],
    ]);
    expect(messages(b.eventsReceived())).toEqual([
      [false, 'b1'],
      [true, 'b2'],
    ]);
    expect(c.eventsReceived()).toEqual([{ type: 'ping', data: enc('ping-payload') }]);
    expect(a.inputPending || b.inputPending || c.inputPending).toBe(false);
  });

  it('a connection failed while a frame is cut off has no input pending (its decoder is let go)', () => {
    const p = serverProtocol();
    const frame = peerFrame(p, { opcode: Opcode.Text, payload: 'hello world' });
    p.receiveData(frame.slice(0, 5));
    expect(p.inputPending).toBe(true);
    // Failed from outside receiveData (the Node layer does this for limits), close still owed.
    p.failMessage(new WebSocketError(ErrorCode.PolicyViolation, 'over a limit'));
    expect(p.inputPending).toBe(false);
    p.dataToSend(true);
    expect(p.inputPending).toBe(false);
    p.receiveData(frame.slice(5));
    expect(p.inputPending).toBe(false);
  });

  it('a connection failed by its input leaves nothing behind for the next one', () => {
    const bad = serverProtocol();
    bad.receiveData(Uint8Array.of(0x83, 0x80, 0, 0, 0, 0)); // reserved opcode 3
    assertConnectionFailing(bad, 1002);
    const client = clientProtocol({ maxPayload: 4 });
    const server = serverProtocol();
    server.receiveData(peerFrame(server, { opcode: Opcode.Text, payload: 'fine' }));
    expect(messages(server.eventsReceived())).toEqual([[false, 'fine']]);
    // The next borrower has its own settings: a client's decoder refuses masks and applies its limit.
    client.receiveData(peerFrame(client, { opcode: Opcode.Binary, payload: '12345' }));
    assertConnectionFailing(client, 1009);
    // And the failed connection still ignores what it receives.
    bad.receiveData(peerFrame(bad, { opcode: Opcode.Text, payload: 'late' }));
    expect(messages(bad.eventsReceived())).toEqual([]);
  });
});
