/**
 * Loopback helpers for the Node.js layer tests: start a server on an ephemeral port, open clients,
 * wait for events with a deadline, and talk raw TCP for handshake and failure tests.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer, type ClientOptions, type ServerOptions } from '../../src/index.js';

/** A standalone server on 127.0.0.1 and an ephemeral port. */
export async function startServer(options: Omit<ServerOptions, 'port'> = {}): Promise<{ wss: WebSocketServer; port: number; url: string }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  await once(wss, 'listening');
  const address = wss.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { wss, port: address.port, url: `ws://127.0.0.1:${address.port}` };
}

/** An open client. */
export async function openClient(url: string, protocols?: string[], options: ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols ?? [], options);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return ws;
}

/** Resolve with the args of the next `event`, or reject after `ms`. */
export function next<T extends unknown[]>(emitter: { once(event: string, listener: (...args: never[]) => void): unknown }, event: string, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), ms);
    emitter.once(event, ((...args: T) => {
      clearTimeout(timer);
      resolve(args);
    }) as never);
  });
}

/** A raw TCP connection that collects everything it receives. */
export class RawClient {
  readonly socket: Socket;
  received = Buffer.alloc(0);
  ended = false;
  closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk) => {
      this.received = Buffer.concat([this.received, chunk]);
    });
    socket.on('end', () => {
      this.ended = true;
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<RawClient> {
    const socket = connect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    return new RawClient(socket);
  }

  write(data: string | Uint8Array): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Wait until `predicate` holds, polling. */
  async until(predicate: () => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out; received ${JSON.stringify(this.received.toString('latin1').slice(0, 200))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Wait for the server to close the connection. */
  waitClosed(ms = 5000): Promise<void> {
    return this.until(() => this.closed || this.ended, ms);
  }

  text(): string {
    return this.received.toString('latin1');
  }
}

/** A valid upgrade request for `path`. */
export function upgradeRequest(path = '/', extra: string[] = []): string {
  return [`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13', ...extra, '', ''].join('\r\n');
}

/**
 * Run `test/node/fixtures/<name>` in a child process (for what must reach the process, such as an
 * uncaught exception from a user callback); it must exit 0 and print one JSON line, returned parsed.
 */
export async function runFixture(name: string, args: string[] = []): Promise<unknown> {
  const fixture = fileURLToPath(new URL(`../node/fixtures/${name}`, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
  const [exit] = await once(child, 'exit');
  if (exit !== 0) throw new Error(`fixture ${name} exited with ${String(exit)}: ${output}`);
  return JSON.parse(output) as unknown;
}
