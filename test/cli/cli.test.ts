/**
 * The `rfc6455` command-line tool as users run it: the built `dist/cli.js` (`npm test` builds
 * first) in a child process, driven through pipes (the filter mode of `connect`, `serve`,
 * `--help`, exit statuses and one-line errors) and, for the interactive mode, through a
 * pseudo-terminal made by util-linux `script` (prompt, coloured marks, /ping, /close). The peers
 * are this library's own server and client on loopback, and tinyproxy for `--proxy`.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, type WebSocketServer } from '../../src/index.js';
import { next, startServer } from '../helpers/node.js';
import { startTinyproxy, tinyproxyBinary } from '../helpers/tinyproxy.js';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'cli.js');
const fixtures = join(root, 'test', 'fixtures');
const scriptBinary = spawnSync('sh', ['-c', 'command -v script'], { encoding: 'utf8' }).stdout.trim() || null;

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const children = new Set<ChildProcess>();
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});

/** Run the tool with `args`, feeding `input` on stdin, bounded in time. */
function run(args: string[], input = '', timeout = 10_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '' } });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`rfc6455 ${args.join(' ')} did not exit within ${timeout} ms; stdout ${JSON.stringify(stdout)} stderr ${JSON.stringify(stderr)}`));
    }, timeout);
    child.on('exit', (status) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/** Start `rfc6455 serve` with `args` and wait for its `listening on` line. */
async function serve(args: string[]): Promise<{ url: string; child: ChildProcess; stderr: () => string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [cli, 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 5000);
    child.stdout.on('data', (chunk) => {
      stdout += String(chunk);
      const match = /listening on (\S+)\n/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', () => reject(new Error(`serve exited: ${stderr}`)));
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (status) => resolve(status)));
  return {
    url,
    child,
    stderr: () => stderr,
    stop: async () => {
      child.kill('SIGTERM');
      const status = await exit;
      children.delete(child);
      return status;
    },
  };
}

describe.skipIf(!existsSync(cli))('rfc6455 (built dist/cli.js)', () => {
  it('is the package bin, an executable ESM file with a shebang', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin).toEqual({ rfc6455: './dist/cli.js' });
    expect(readFileSync(cli, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('--help for the tool and for each command; usage errors exit 2', async () => {
    const [tool, connect, serveHelp, unknown, noUrl, badOption, badPort] = await Promise.all([
      run(['--help']),
      run(['connect', '--help']),
      run(['serve', '-h']),
      run(['frobnicate']),
      run(['connect']),
      run(['connect', 'ws://127.0.0.1:1', '--bogus']),
      run(['serve', '--port', 'http']),
    ]);
    expect(tool).toMatchObject({ status: 0, stdout: expect.stringContaining('connect <url>') });
    expect(connect).toMatchObject({ status: 0, stdout: expect.stringMatching(/--subprotocol[\s\S]*\/close \[code\] \[reason\]/) });
    expect(serveHelp).toMatchObject({ status: 0, stdout: expect.stringMatching(/--broadcast[\s\S]*--tls-cert/) });
    expect(unknown).toMatchObject({ status: 2, stderr: "rfc6455: unknown command 'frobnicate'\nTry 'rfc6455 --help'.\n" });
    expect(noUrl).toMatchObject({ status: 2, stderr: expect.stringContaining('connect needs a URL') });
    expect(badOption).toMatchObject({ status: 2, stderr: expect.stringMatching(/^rfc6455: .*--bogus/) });
    expect(badPort).toMatchObject({ status: 2, stderr: expect.stringContaining('--port must be a number') });
  });

  it('serve --echo and connect through pipes: each line a message, each message a line, exit 0 on a clean close', async () => {
    const server = await serve(['--echo']);
    const result = await run(['connect', server.url], 'first line\nsecond line\n\nünïcödé\n');
    expect(result).toEqual({ status: 0, stdout: 'first line\nsecond line\n\nünïcödé\n', stderr: '' });
    expect(await server.stop()).toBe(0);
    expect(server.stderr()).toMatch(/connection from 127\.0\.0\.1:\d+[\s\S]*closed 127\.0\.0\.1:\d+ \(1000\)/);
  });

  it('serve --broadcast sends each message to every client', async () => {
    const server = await serve(['--broadcast']);
    const a = new WebSocket(server.url);
    const b = new WebSocket(server.url);
    await Promise.all([next(a, 'open'), next(b, 'open')]);
    const atB = next<[Buffer]>(b, 'message');
    const atA = next<[Buffer]>(a, 'message');
    a.send('to all');
    expect(String((await atB)[0])).toBe('to all');
    expect(String((await atA)[0])).toBe('to all');
    await Promise.all([a.close(), b.close()]);
    expect(await server.stop()).toBe(0);
  });

  it('serve over TLS with --deflate; connect --insecure and --deflate, and without --insecure a one-line certificate error', async () => {
    const server = await serve(['--tls-cert', join(fixtures, 'cert.pem'), '--tls-key', join(fixtures, 'key.pem'), '--deflate']);
    expect(server.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
    const ok = await run(['connect', '--insecure', '--deflate', server.url], 'secure\n');
    expect(ok).toEqual({ status: 0, stdout: 'secure\n', stderr: '' });
    const refused = await run(['connect', server.url], 'x\n');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^rfc6455: the server's certificate was rejected: .*(self[- ]signed|certificate).*\n$/);
    expect(refused.stderr.split('\n')).toHaveLength(2);
    expect(await server.stop()).toBe(0);
  });

  describe('connect against the library server', () => {
    let wss: WebSocketServer;
    let url: string;
    const seen: { headers: Record<string, string | string[] | undefined>; protocol: string; extensions: string }[] = [];
    beforeAll(async () => {
      ({ wss, url } = await startServer({ perMessageDeflate: true, origins: '*', handleProtocols: (offered) => (offered.has('chat.v2') ? 'chat.v2' : false) }));
      wss.on('connection', (ws, request) => {
        seen.push({ headers: request.headers, protocol: ws.protocol, extensions: ws.extensions });
        ws.on('message', (data) => {
          const text = String(data);
          if (text === 'binary please') ws.send(Buffer.from([0x41, 0x42, 0x43]));
          else if (text === 'kick me') void ws.close(4000, 'kicked');
          else if (text === 'crash') ws.terminate();
          else ws.send(`echo: ${text}`);
        });
      });
    });
    afterAll(() => wss.close());

    it('sends -H headers, --origin and -s subprotocols; --deflate offers compression (off without it)', async () => {
      const result = await run(['connect', '-H', 'X-Token: abc 123', '-H', 'X-Other:two', '--origin', 'https://app.example', '-s', 'chat.v1', '-s', 'chat.v2', '--deflate', url], 'hi\n');
      expect(result).toEqual({ status: 0, stdout: 'echo: hi\n', stderr: '' });
      const first = seen.at(-1)!;
      expect(first.headers['x-token']).toBe('abc 123');
      expect(first.headers['x-other']).toBe('two');
      expect(first.headers.origin).toBe('https://app.example');
      expect(first.headers['sec-websocket-protocol']).toBe('chat.v1, chat.v2');
      expect([first.protocol, first.extensions]).toEqual(['chat.v2', expect.stringContaining('permessage-deflate')]);
      await run(['connect', url], 'plain\n');
      expect(seen.at(-1)!.extensions).toBe('');
    });

    it('a reader that goes away (| head -1) ends it with a one-line error, not a stack trace', async () => {
      const child = spawn(process.execPath, [cli, 'connect', url], { stdio: ['pipe', 'pipe', 'pipe'] });
      children.add(child);
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += String(chunk)));
      child.stdout.once('data', () => child.stdout.destroy());
      const exit = new Promise<number | null>((resolve) => child.once('exit', (status) => resolve(status)));
      // Far more than a pipe buffer (64 KiB) holds, so writes fail once the reader is gone.
      const lines = Array.from({ length: 10_000 }, (_, i) => `line ${i} ${'x'.repeat(40)}`).join('\n');
      child.stdin.on('error', () => undefined);
      child.stdin.end(`${lines}\n`);
      expect(await exit).toBe(1);
      expect(stderr).toMatch(/^rfc6455: cannot write to stdout: .*EPIPE.*\n$/);
    });

    it('prints binary messages as their bytes, one per line', async () => {
      const result = await run(['connect', url], 'binary please\n');
      expect(result).toEqual({ status: 0, stdout: 'ABC\n', stderr: '' });
    });

    it('exits 1 with a one-line error when the server closes with another code or drops the connection', async () => {
      const kicked = await run(['connect', url], 'kick me\nnever sent\n');
      expect(kicked).toEqual({ status: 1, stdout: '', stderr: 'rfc6455: connection closed with 4000 (kicked)\n' });
      const dropped = await run(['connect', url], 'crash\n');
      expect(dropped).toEqual({ status: 1, stdout: '', stderr: 'rfc6455: connection closed with 1006\n' });
    });

    it('exits 1 with a one-line error when nothing listens, or the server refuses the upgrade', async () => {
      const refused = await run(['connect', 'ws://127.0.0.1:1/'], '');
      expect(refused).toMatchObject({ status: 1, stdout: '', stderr: expect.stringMatching(/^rfc6455: connection failed: connect ECONNREFUSED 127\.0\.0\.1:1\n$/) });
      const notFound = await startServer({ path: '/only-here' });
      try {
        const rejected = await run(['connect', `${notFound.url}/elsewhere`], '');
        expect(rejected).toMatchObject({ status: 1, stderr: expect.stringMatching(/^rfc6455: server answered 400.*\n$/) });
      } finally {
        await notFound.wss.close();
      }
    });

    it.skipIf(tinyproxyBinary === null)('--proxy goes through tinyproxy', async () => {
      const proxy = await startTinyproxy();
      try {
        const result = await run(['connect', '--proxy', proxy.url, url], 'proxied\n');
        expect(result).toEqual({ status: 0, stdout: 'echo: proxied\n', stderr: '' });
        expect(proxy.log()).toContain(new URL(url).host);
      } finally {
        await proxy.stop();
      }
    });

    it.skipIf(scriptBinary === null)('interactive in a pseudo-terminal: prompt, coloured marks, /ping, /close with code and reason', async () => {
      const command = `${process.execPath} ${cli} connect ${url}`;
      const child = spawn(scriptBinary!, ['-qefc', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '', TERM: 'xterm' } });
      children.add(child);
      let output = '';
      child.stdout.on('data', (chunk) => (output += String(chunk)));
      const exit = new Promise<number | null>((resolve) => child.once('exit', (status) => resolve(status)));
      const waitFor = async (pattern: RegExp) => {
        const deadline = Date.now() + 5000;
        while (!pattern.test(output)) {
          if (Date.now() > deadline) throw new Error(`no ${pattern} in ${JSON.stringify(output)}`);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      };
      await waitFor(/Connected to ws:\/\/127\.0\.0\.1/);
      child.stdin.write('hello\r');
      // Incoming: "< " in green; the prompt ("> ") in cyan.
      await waitFor(/\x1b\[32m< echo: hello\x1b\[0m/);
      expect(output).toContain('\x1b[36m> \x1b[0m');
      child.stdin.write('/ping\r');
      await waitFor(/< pong/);
      child.stdin.write('/close 1000 bye\r');
      // The close the server answered with (it echoes the code and the reason).
      await waitFor(/Disconnected \(code: 1000, reason: "bye"\)/);
      expect(await exit).toBe(0);
      children.delete(child);

      // The server closing with its own code and reason: shown, and exit status 1. NO_COLOR: marks without colour.
      const again = spawn(scriptBinary!, ['-qefc', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'xterm', NO_COLOR: '1' } });
      children.add(again);
      output = '';
      again.stdout.on('data', (chunk) => (output += String(chunk)));
      const againExit = new Promise<number | null>((resolve) => again.once('exit', (status) => resolve(status)));
      await waitFor(/Connected to/);
      again.stdin.write('/close 99\r');
      await waitFor(/error: .*close code/i);
      again.stdin.write('plain marks\r');
      await waitFor(/\x1b\[1G< echo: plain marks\r\n/);
      again.stdin.write('kick me\r');
      await waitFor(/Disconnected \(code: 4000, reason: "kicked"\)/);
      expect(await againExit).toBe(1);
      expect(output).not.toMatch(/\x1b\[3\dm/);
      children.delete(again);
    });
  });
});

describe('connect: backpressure', () => {
  it('stops reading stdin while the server does not read (memory stays bounded)', async () => {
    // Before, every stdin line was sent at once: the tool read all of its input into memory.
    const { wss, url } = await startServer({ closeTimeout: 200 });
    const held: WebSocket[] = [];
    wss.on('connection', (ws) => {
      ws.pause();
      held.push(ws);
    });
    const child = spawn(process.execPath, [cli, 'connect', url], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    child.stdin.on('error', () => undefined);
    try {
      const line = `${'x'.repeat(1023)}\n`;
      const chunk = line.repeat(1024);
      const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
      await new Promise((r) => setTimeout(r, 300));
      const before = rssMb();
      // Offer up to 48 MiB for 3 s, as fast as the tool takes it.
      let offered = 0;
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline && offered < 48 * 1024 * 1024) {
        if (child.stdin.writableLength < chunk.length) {
          child.stdin.write(chunk);
          offered += chunk.length;
        } else {
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      const grown = rssMb() - before;
      expect(held).toHaveLength(1);
      // Before: all 48 MiB taken, +205 MB of RSS; now about 6 MiB and +15 MB.
      expect(offered).toBeLessThan(24 * 1024 * 1024);
      expect(grown).toBeLessThan(48);
    } finally {
      child.kill('SIGKILL');
      for (const ws of held) ws.terminate();
      await wss.close();
    }
  });
});

