/**
 * The type test: test/types/ws-compat.ts (typical @types/ws code: the default import,
 * `WebSocket.Data` / `RawData`, `WebSocket.OPEN` as a value and a type, `(ws, req:
 * IncomingMessage)`, ws-style send callbacks, 'upgrade' / 'unexpected-response' listeners,
 * `ClientOptions` / `ServerOptions`, module augmentation) and a CommonJS consumer compile with
 * `strict` and without `skipLibCheck` against the built declarations, reached through the
 * package's own name and exports map. `npm test` builds before vitest runs, so dist/ is current.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

describe('bundled type declarations', () => {
  it('typical @types/ws code compiles unchanged under strict', () => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    let output = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', join(root, 'test/types/tsconfig.json')], { cwd: root, encoding: 'utf8' });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    expect(output).toBe('');
  }, 60_000);
});
