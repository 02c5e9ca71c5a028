/**
 * The built package, as users get it: `dist/` loaded through the `exports` map with both
 * `import` and `require`, exposing the same public names, plus the bundled type declarations.
 * `npm test` builds before running vitest, so `dist/` is current.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const publicNames = [
  'Protocol',
  'SEND_EOF',
  'WebSocketError',
  'ErrorCode',
  'CloseCode',
  'Opcode',
  'State',
  'Role',
  'FrameDecoder',
  'FrameEncoder',
  'MessageAssembler',
  'Utf8Validator',
  'isValidUtf8',
  'applyMask',
  'MaskKeyPool',
  'parseClosePayload',
  'encodeClosePayload',
  'ReconnectingWebSocket',
  'reconnect',
  'Backoff',
  'isRetryable',
  'parseRetryAfter',
];

describe('built package', () => {
  it('has ESM, CJS and type declarations', () => {
    for (const file of ['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts']) {
      expect(existsSync(join(root, file)), file).toBe(true);
    }
    const types = readFileSync(join(root, 'dist/index.d.ts'), 'utf8');
    for (const name of ['Protocol', 'ProtocolOptions', 'ProtocolEvent', 'WebSocketError', 'SEND_EOF']) expect(types).toContain(name);
  });

  it('loads through the exports map with import() and require() in a plain Node process', () => {
    const script = `
      const esm = await import('rfc6455');
      const { createRequire } = await import('node:module');
      const cjs = createRequire(process.cwd() + '/')('rfc6455');
      const names = ${JSON.stringify(publicNames)};
      const report = names.map((n) => [n, typeof esm[n], typeof cjs[n]]);
      const p = new cjs.Protocol({ role: 'server' });
      p.sendText('hi');
      console.log(JSON.stringify({ report, bytes: p.dataToSend().flatMap((c) => Array.from(c)) }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    const { report, bytes } = JSON.parse(out) as { report: [string, string, string][]; bytes: number[] };
    for (const [name, esmType, cjsType] of report) {
      expect(esmType, `${name} via import`).not.toBe('undefined');
      expect(cjsType, `${name} via require`).toBe(esmType);
    }
    expect(bytes).toEqual([0x81, 0x02, 0x68, 0x69]);
  });

  it('is one implementation for both module systems: require() gives the class, import() the same objects', () => {
    const script = `
      const { createRequire } = await import('node:module');
      const require = createRequire(process.cwd() + '/');
      const cjs = require('rfc6455');
      const esm = await import('rfc6455');
      const whatwgCjs = require('rfc6455/whatwg');
      const whatwgEsm = await import('rfc6455/whatwg');
      const redisEsm = await import('rfc6455/redis');
      console.log(JSON.stringify({
        cjsIsClass: typeof cjs === 'function' && cjs.name === 'WebSocket',
        sameClass: cjs.WebSocket === esm.WebSocket && cjs === esm.default && esm.default === esm.WebSocket && cjs.default === cjs,
        sameServer: cjs.WebSocketServer === esm.WebSocketServer && cjs.Server === esm.WebSocketServer,
        sameError: cjs.WebSocketError === esm.WebSocketError,
        stream: typeof cjs.createWebSocketStream === 'function' && cjs.createWebSocketStream === esm.createWebSocketStream,
        constants: [cjs.CONNECTING, cjs.OPEN, cjs.CLOSING, cjs.CLOSED],
        whatwg: typeof whatwgEsm.WebSocket === 'function' && whatwgCjs.WebSocket === whatwgEsm.WebSocket,
        whatwgTarget: new whatwgEsm.WebSocket('ws://127.0.0.1:1/') instanceof EventTarget,
        redis: typeof redisEsm.createRedisBackplane,
      }));
      process.exit(0);
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({
      cjsIsClass: true,
      sameClass: true,
      sameServer: true,
      sameError: true,
      stream: true,
      constants: [0, 1, 2, 3],
      whatwg: true,
      whatwgTarget: true,
      redis: 'function',
    });
  });

  it('ships a LICENSE, no source maps, and stays under twice ws\'s unpacked size', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown> & { files: string[]; license: string };
    expect(pkg.license).toBe('MIT');
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    expect(pkg.files).toContain('LICENSE');
    // `npm pack` in a fresh clone (no dist/ yet) builds first, so the tarball is never empty.
    expect((pkg.scripts as Record<string, string>).prepack).toBe('npm run build');
    const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' })) as {
      unpackedSize: number;
      files: { path: string }[];
    }[];
    const [info] = packed;
    expect(info!.files.some((f) => f.path.endsWith('.map'))).toBe(false);
    // ws 8.23.0: 154.0 kB unpacked (npm pack ws@8.23.0 --dry-run).
    expect(info!.unpackedSize).toBeLessThanOrEqual(2 * 154_000);
  });

  it('declares zero runtime dependencies and node >= 20', () => {
    const pkg = createRequire(import.meta.url)('../package.json') as { dependencies?: object; engines: { node: string } };
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(pkg.engines.node).toBe('>=20');
  });
});
