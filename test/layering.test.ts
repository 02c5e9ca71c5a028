/**
 * Enforces the layer table of the architecture: the core imports only the core, the handshake
 * only the core (and itself), extensions no `node:*`; `src/index.ts` only re-exports. Also bans
 * `Buffer`, timers and `process` from the sans-I/O layers. Scans import specifiers textually.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

function importsOf(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  const found: string[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    const from = trimmed.match(/^(?:import|export)\b.*?\bfrom\s+['"]([^'"]+)['"]/);
    if (from) found.push(from[1]!);
    const bare = trimmed.match(/^import\s+['"]([^'"]+)['"]/);
    if (bare) found.push(bare[1]!);
    const dynamic = trimmed.match(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/);
    if (dynamic) found.push(dynamic[1]!);
  }
  return found;
}

const layerOf = (path: string) => relative(root, path).split('/')[0]!;
const allowed: Record<string, string[]> = {
  core: ['core'],
  handshake: ['core', 'handshake'],
  extensions: ['core', 'handshake', 'extensions'],
};

describe('layering (ARCHITECTURE.md §1)', () => {
  const files = sourceFiles(root);
  it('finds the sources', () => {
    expect(files.some((f) => layerOf(f) === 'core')).toBe(true);
  });
  for (const file of files) {
    const layer = layerOf(file);
    const permitted = allowed[layer];
    if (!permitted) continue;
    it(`${relative(root, file)} imports only ${permitted.join(', ')}`, () => {
      for (const specifier of importsOf(file)) {
        expect(specifier.startsWith('node:'), `${specifier} in a sans-I/O layer`).toBe(false);
        expect(specifier.startsWith('.'), `${specifier}: only relative imports in ${layer}`).toBe(true);
        const target = relative(root, join(file, '..', specifier)).split('/')[0]!;
        expect(permitted, `${specifier} crosses into ${target}`).toContain(target);
      }
    });
    it(`${relative(root, file)} uses no Buffer, timers or process`, () => {
      const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      expect(code).not.toMatch(/\bBuffer\b|\bsetTimeout\b|\bsetInterval\b|\bsetImmediate\b|\bprocess\./);
    });
  }
  it('src/index.ts only re-exports', () => {
    const code = readFileSync(join(root, 'index.ts'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
    for (const line of code.split('\n').filter((l) => l.trim())) expect(line).toMatch(/^export /);
  });
});
