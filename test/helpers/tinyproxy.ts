/**
 * A real HTTP proxy for the tests: Debian's `tinyproxy`, started in the foreground (`-d -c conf`)
 * on a free loopback port with a temporary config file and directory, and stopped afterwards.
 * Also a TLS terminator in front of it (a plain byte relay, as stunnel would be), so the same
 * proxy can be reached as an `https://` proxy. Callers decide what to do when the binary is absent
 * (`tinyproxyBinary` is null): skip locally, fail in CI.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { accepts, freePort } from './ports.js';

export { freePort } from './ports.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';

/** Path of the tinyproxy binary, or null when it is not installed. */
export const tinyproxyBinary: string | null = (() => {
  const found = spawnSync('sh', ['-c', 'command -v tinyproxy'], { encoding: 'utf8' });
  const path = found.status === 0 ? found.stdout.trim() : '';
  return path === '' ? null : path;
})();

/** A running tinyproxy. */
export interface Tinyproxy {
  readonly port: number;
  /** `http://127.0.0.1:port` (credentials not included). */
  readonly url: string;
  /** Everything tinyproxy logged so far. */
  log(): string;
  stop(): Promise<void>;
}

/** Settings for {@link startTinyproxy}. */
export interface TinyproxyConfig {
  /** Require `Proxy-Authorization: Basic` with this user and password. */
  basicAuth?: { user: string; password: string };
  /** Ports CONNECT may reach (tinyproxy allows every port when none is listed). */
  connectPorts?: number[];
}


async function launch(binary: string, config: TinyproxyConfig): Promise<Tinyproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'rfc6455-tinyproxy-'));
  const port = await freePort();
  const lines = [`Port ${port}`, 'Listen 127.0.0.1', 'Timeout 30', 'MaxClients 50', 'Allow 127.0.0.1', 'LogLevel Info', 'DisableViaHeader Yes'];
  if (config.basicAuth) lines.push(`BasicAuth ${config.basicAuth.user} ${config.basicAuth.password}`);
  for (const p of config.connectPorts ?? []) lines.push(`ConnectPort ${p}`);
  const conf = join(dir, 'tinyproxy.conf');
  writeFileSync(conf, `${lines.join('\n')}\n`);
  const child: ChildProcess = spawn(binary, ['-d', '-c', conf], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += String(chunk)));
  child.stderr!.on('data', (chunk) => (output += String(chunk)));
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exit;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 5000;
  while (!(await accepts(port))) {
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`tinyproxy did not start on port ${port}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { port, url: `http://127.0.0.1:${port}`, log: () => output, stop };
}

/**
 * Start tinyproxy on a free loopback port (retrying once with another port if it was taken
 * meanwhile).
 */
export async function startTinyproxy(config: TinyproxyConfig = {}): Promise<Tinyproxy> {
  if (tinyproxyBinary === null) throw new Error('tinyproxy is not installed');
  try {
    return await launch(tinyproxyBinary, config);
  } catch {
    return launch(tinyproxyBinary, config);
  }
}

/** A TLS terminator on a loopback port that relays the decrypted bytes to `port` (an https:// face for tinyproxy). */
export async function startTlsRelay(port: number, tls: TlsOptions): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<{ destroy(): void }>();
  const server = createTlsServer(tls, (client) => {
    const upstream = connect({ host: '127.0.0.1', port });
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
