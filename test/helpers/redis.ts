/**
 * A real Redis for the tests: Debian's `redis-server`, started on a free loopback port with a
 * temporary directory and no persistence, and stopped (or killed, or restarted on the same port
 * to test outages). `.ci/run` installs the package; outside CI the Redis tests are skipped when
 * the binary is missing, in CI they fail.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accepts, freePort } from './ports.js';

export { freePort } from './ports.js';

export const REDIS_SERVER = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((path) => existsSync(path));

/** Skip the Redis tests only outside CI when there is no redis-server. */
export const skipRedis = REDIS_SERVER === undefined && process.env.CI !== 'true';

/** A redis-server of our own. */
export class RedisInstance {
  private process: ChildProcess | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), 'rfc6455-redis-'));

  private constructor(readonly port: number) {}

  /** Start one on a free port. */
  static async start(): Promise<RedisInstance> {
    if (REDIS_SERVER === undefined) throw new Error('redis-server is not installed (apt-get install redis-server)');
    const instance = new RedisInstance(await freePort());
    await instance.startProcess();
    return instance;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** (Re)start the server on the same port and wait until it accepts connections. */
  async startProcess(): Promise<void> {
    const child = spawn(REDIS_SERVER!, ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], { stdio: 'ignore' });
    this.process = child;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (await accepts(this.port)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
  }

  /** Stop the server (SIGTERM), waiting for it to exit. */
  async stopProcess(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.process;
    this.process = null;
    if (child === null || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  }

  /** Stop and remove the temporary directory. */
  async stop(): Promise<void> {
    await this.stopProcess('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
