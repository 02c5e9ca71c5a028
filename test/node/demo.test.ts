// The demo behind `npm start`: it serves its page, echoes on /echo and broadcasts on /chat.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from '../../src/index.js';
import { next, openClient } from '../helpers/node.js';

const root = join(import.meta.dirname, '..', '..');
let demo: ChildProcess;
let port = 0;

beforeAll(async () => {
  port = 20000 + Math.floor(Math.random() * 20000);
  demo = spawn(process.execPath, [join(root, 'examples', 'demo.mjs')], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('demo did not start')), 10_000);
    demo.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('demo running at')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
});
afterAll(() => {
  demo.kill('SIGINT');
});

describe('npm start demo', () => {
  it('serves the page', async () => {
    const html = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    expect(html).toContain('rfc6455 demo');
    expect(html).toContain("open('/chat'");
  });
  it('echoes on /echo', async () => {
    const ws = await openClient(`ws://127.0.0.1:${port}/echo`);
    ws.send('ping from test');
    expect((await next<[Buffer]>(ws, 'message'))[0].toString()).toBe('ping from test');
    await ws.close();
  });
  it('broadcasts on /chat to everyone connected', async () => {
    const alice = await openClient(`ws://127.0.0.1:${port}/chat`);
    const bob = await openClient(`ws://127.0.0.1:${port}/chat`);
    const received = new Promise<string>((resolve) => {
      bob.on('message', (data) => {
        const m = JSON.parse(data.toString()) as { type: string; name: string; text: string };
        if (m.type === 'message') resolve(`${m.name}: ${m.text}`);
      });
    });
    alice.send(JSON.stringify({ name: 'alice', text: 'hi bob' }));
    expect(await received).toBe('alice: hi bob');
    await Promise.all([alice.close(), bob.close()]);
  });
  it('refuses other paths', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/nowhere`);
    const [error] = await next<[Error]>(ws, 'error');
    expect(error.message).toMatch(/404/);
  });
});
