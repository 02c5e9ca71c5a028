/**
 * A raw-TCP WebSocket peer for wire-level tests: it speaks bytes, not this library's API, so it
 * can send what a broken or hostile peer sends. Against a server it performs the opening
 * handshake itself and then writes frames as given (masked unless told otherwise); it records
 * every frame the other side writes, decoded with an independent reference decoder, and when the
 * other side closed TCP.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { FrameDecoder } from '../../src/core/index.js';
import { buildFrame, type RawFrame } from '../helpers/frames.js';

/** A frame the other side wrote. */
export interface SeenFrame {
  opcode: number;
  fin: boolean;
  rsv: number;
  payload: Buffer;
}

export class RawPeer {
  readonly frames: SeenFrame[] = [];
  /** When the other side closed (FIN or reset), in ms since the peer was made; -1 while open. */
  closedAfter = -1;
  protocolError: string | null = null;
  /** The server's handshake response head (client-to-server peers). */
  handshake = '';
  private readonly started = Date.now();
  private parts: Buffer[] = [];
  private current: Omit<SeenFrame, 'payload'> | null = null;
  private readonly decoder: FrameDecoder;

  private constructor(
    readonly socket: Socket,
    private readonly masked: boolean,
  ) {
    this.decoder = new FrameDecoder(
      {
        frameStart: (opcode, fin, rsv) => {
          this.current = { opcode, fin, rsv };
          this.parts = [];
        },
        framePayload: (piece) => this.parts.push(Buffer.from(piece)),
        frameEnd: () => this.frames.push({ ...this.current!, payload: Buffer.concat(this.parts) }),
        controlFrame: (opcode, payload) => this.frames.push({ opcode, fin: true, rsv: 0, payload: Buffer.from(payload) }),
        frameError: (error) => {
          this.protocolError = error.message;
        },
      },
      { expectMasked: !masked, allowedRsv: 0x40 },
    );
    const onClosed = () => {
      if (this.closedAfter === -1) this.closedAfter = Date.now() - this.started;
    };
    socket.on('end', onClosed);
    socket.on('close', onClosed);
    socket.on('error', () => undefined);
  }

  /** Connect to a server and complete the handshake; bytes after the 101 are decoded as frames. */
  static async toServer(port: number, path = '/', extraHeaders: string[] = []): Promise<RawPeer> {
    const socket = connect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    socket.setNoDelay(true);
    const key = 'dGhlIHNhbXBsZSBub25jZQ==';
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extraHeaders.map((h) => `${h}\r\n`).join('')}\r\n`);
    let head = Buffer.alloc(0);
    while (head.indexOf('\r\n\r\n') === -1) {
      const [chunk] = (await once(socket, 'data')) as [Buffer];
      head = Buffer.concat([head, chunk]);
    }
    const end = head.indexOf('\r\n\r\n');
    const text = head.subarray(0, end).toString('latin1');
    const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    if (!text.startsWith('HTTP/1.1 101') || !text.includes(`Sec-WebSocket-Accept: ${accept}`)) throw new Error(`bad handshake: ${text}`);
    const peer = new RawPeer(socket, true);
    peer.handshake = text;
    socket.on('data', (chunk: Buffer) => peer.decoder.push(chunk));
    if (end + 4 < head.length) peer.decoder.push(head.subarray(end + 4));
    return peer;
  }

  /**
   * Listen as a fake server: the next connection's upgrade request is answered with a valid 101
   * (or with `response` when given), and the peer then speaks raw frames to that client, unmasked.
   */
  static async fakeServer(response?: (key: string) => string): Promise<{ url: string; accept: () => Promise<RawPeer>; close: () => void }> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const accept = async (): Promise<RawPeer> => {
      const [socket] = (await once(server, 'connection')) as [Socket];
      socket.setNoDelay(true);
      let head = Buffer.alloc(0);
      while (head.indexOf('\r\n\r\n') === -1) {
        const [chunk] = (await once(socket, 'data')) as [Buffer];
        head = Buffer.concat([head, chunk]);
      }
      const end = head.indexOf('\r\n\r\n');
      const key = /sec-websocket-key: *([^\r]+)/i.exec(head.subarray(0, end).toString('latin1'))?.[1] ?? '';
      const acceptValue = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
      socket.write(response ? response(acceptValue) : `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptValue}\r\n\r\n`);
      const peer = new RawPeer(socket, false);
      socket.on('data', (chunk: Buffer) => peer.decoder.push(chunk));
      if (end + 4 < head.length) peer.decoder.push(head.subarray(end + 4));
      return peer;
    };
    return { url: `ws://127.0.0.1:${port}`, accept, close: () => server.close() };
  }

  /** Write frames (masked with a fixed key when speaking to a server, unless the frame says otherwise), each as one write or in chops. */
  send(frames: RawFrame | RawFrame[], chop = 0): this {
    for (const frame of Array.isArray(frames) ? frames : [frames]) {
      const bytes = buildFrame(this.masked && frame.mask === undefined ? { ...frame, mask: [0x0f, 0x1e, 0x2d, 0x3c] } : frame);
      this.write(bytes, chop);
    }
    return this;
  }

  /** Write raw bytes, optionally in chops. */
  write(bytes: Uint8Array, chop = 0): this {
    if (this.socket.destroyed) return this;
    if (chop <= 0) this.socket.write(bytes);
    else for (let i = 0; i < bytes.length; i += chop) this.socket.write(bytes.subarray(i, i + chop));
    return this;
  }

  /** Wait until `predicate` holds or `ms` pass. */
  async until(predicate: () => boolean, ms = 5000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!predicate()) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 2));
    }
    return true;
  }

  /** Wait for the other side to close TCP. */
  waitClosed(ms = 5000): Promise<boolean> {
    return this.until(() => this.closedAfter !== -1, ms);
  }

  /** Frames other than close. */
  get dataFrames(): SeenFrame[] {
    return this.frames.filter((f) => f.opcode !== 8);
  }

  /** Codes of the close frames seen (1005 for an empty one). */
  get closeCodes(): number[] {
    return this.frames.filter((f) => f.opcode === 8).map((f) => (f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005));
  }

  destroy(): void {
    this.socket.destroy();
  }
}
