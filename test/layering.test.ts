/**
 * Enforces the layer table of the architecture. Sans-I/O layers: the core imports only the core,
 * the handshake only the core (and itself), extensions the core, the handshake and themselves;
 * `pubsub` and `policy` those three and themselves. None of them imports `node:*` or a package,
 * or uses `Buffer`, timers or `process`. I/O layers: `node` may import every sans-I/O layer;
 * `whatwg`, `redis` and `cli` may import `node` and everything below it, and nothing imports them.
 * `src/index.ts` only re-exports, and never `redis` or `cli`.
 *
 * Import specifiers come from TypeScript's own pre-processor (`ts.preProcessFile`), which sees
 * static imports and re-exports however they are laid out, `import x = require(...)`, `import(...)`
 * (in code and in types), `require(...)`, and `/// <reference types>` directives. A layer listed
 * below whose folder does not exist yet simply contributes no files.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', 'src');

const SANS_IO = ['core', 'handshake', 'extensions', 'pubsub', 'policy'] as const;
const BELOW_NODE = [...SANS_IO, 'node'];

/** Layer → the layers its files may import. */
const allowed: Record<string, readonly string[]> = {
  core: ['core'],
  handshake: ['core', 'handshake'],
  extensions: ['core', 'handshake', 'extensions'],
  pubsub: ['core', 'handshake', 'extensions', 'pubsub'],
  policy: ['core', 'handshake', 'extensions', 'policy'],
  node: BELOW_NODE,
  whatwg: [...BELOW_NODE, 'whatwg'],
  redis: [...BELOW_NODE, 'redis'],
  cli: [...BELOW_NODE, 'cli'],
};
/** Layers `src/index.ts` may re-export. */
const publicLayers = Object.keys(allowed).filter((layer) => layer !== 'redis' && layer !== 'cli');
const isSansIo = (layer: string) => (SANS_IO as readonly string[]).includes(layer);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.[cm]?tsx?$/.test(name) && !/\.test\.[cm]?tsx?$/.test(name) ? [path] : [];
  });
}

/** Every module specifier `text` refers to: imports, re-exports, dynamic imports, requires, type references. */
function importsOf(text: string): string[] {
  const info = ts.preProcessFile(text, true, true);
  return [...info.importedFiles, ...info.typeReferenceDirectives].map((ref) => ref.fileName);
}

/** Path relative to `src`, with `/` separators. */
const relPath = (path: string) => relative(root, path).split(sep).join('/');
const layerOf = (rel: string) => rel.split('/')[0]!;

/** Which layer (top-level entry under `src`) a specifier in file `rel` points at, or null if not relative. */
function targetLayer(rel: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const resolved = posix.normalize(posix.join(posix.dirname(rel), specifier));
  return resolved.startsWith('../') || resolved === '..' ? '<outside src>' : layerOf(resolved);
}

/** Layer-table violations of a file under `src` (path `rel`, relative to `src`) with source `text`. */
function violations(rel: string, text: string): string[] {
  const layer = layerOf(rel);
  const permitted = allowed[layer];
  if (!permitted) return [`${rel}: layer ${layer} is not in the layer table`];
  const found: string[] = [];
  for (const specifier of importsOf(text)) {
    const target = targetLayer(rel, specifier);
    if (target === null) {
      if (isSansIo(layer)) found.push(`${rel}: ${specifier} in the sans-I/O layer ${layer}`);
    } else if (!permitted.includes(target)) {
      found.push(`${rel}: ${specifier} crosses from ${layer} into ${target}`);
    }
  }
  if (isSansIo(layer)) {
    const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    const banned = code.match(/\bBuffer\b|\bsetTimeout\b|\bsetInterval\b|\bsetImmediate\b|\bprocess\./);
    if (banned) found.push(`${rel}: ${banned[0]} in the sans-I/O layer ${layer}`);
  }
  return found;
}

/** Problems with the public entry point: anything but re-exports, or a re-export of a private layer. */
function entryPointViolations(text: string): string[] {
  const source = ts.createSourceFile('index.ts', text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  for (const statement of source.statements) {
    if (!ts.isExportDeclaration(statement) || !statement.moduleSpecifier) {
      found.push(`not a re-export: ${statement.getText(source).split('\n')[0]}`);
    }
  }
  for (const specifier of importsOf(text)) {
    const target = targetLayer('index.ts', specifier);
    if (target === null || !publicLayers.includes(target)) found.push(`index.ts re-exports ${specifier}`);
  }
  return found;
}

describe('layering (ARCHITECTURE.md §1)', () => {
  const files = sourceFiles(root).map(relPath);

  it('finds the sources', () => {
    expect(files.some((f) => layerOf(f) === 'core')).toBe(true);
  });

  it('every folder under src is a layer of the table, and index.ts is the only top-level file', () => {
    const strays = readdirSync(root).filter((name) => {
      const isDir = statSync(join(root, name)).isDirectory();
      return isDir ? !(name in allowed) : name !== 'index.ts';
    });
    expect(strays).toEqual([]);
  });

  for (const rel of files) {
    if (rel === 'index.ts') continue;
    const permitted = allowed[layerOf(rel)];
    const rule = permitted ? `imports only ${permitted.join(', ')}` : 'is in a known layer';
    it(`${rel} ${rule}${isSansIo(layerOf(rel)) ? '; no node:*, packages, Buffer, timers or process' : ''}`, () => {
      expect(violations(rel, readFileSync(join(root, rel), 'utf8'))).toEqual([]);
    });
  }

  it('src/index.ts only re-exports, and not redis or cli', () => {
    expect(entryPointViolations(readFileSync(join(root, 'index.ts'), 'utf8'))).toEqual([]);
  });
});

describe('the layering checker itself', () => {
  const multiLine = "import {\n  createConnection,\n  type Socket,\n} from 'node:net';\n";
  const reExport = "export * from 'node:fs';\n";
  const dynamic = "export async function open() {\n  const net = await import('node:net');\n  return net;\n}\n";

  it('sees a multi-line import, an export-from and a dynamic import', () => {
    expect(importsOf(multiLine)).toEqual(['node:net']);
    expect(importsOf(reExport)).toEqual(['node:fs']);
    expect(importsOf(dynamic)).toEqual(['node:net']);
    expect(importsOf("import x = require('node:os');\nconst y = require('node:tls');\ntype S = import('node:dgram').Socket;")).toEqual([
      'node:os',
      'node:tls',
      'node:dgram',
    ]);
  });

  it('ignores specifiers inside comments and strings', () => {
    expect(importsOf("// import a from 'node:net'\n/* export * from 'node:fs' */\nconst s = \"import('node:net')\";\n")).toEqual([]);
  });

  it('rejects each of them in a sans-I/O file', () => {
    for (const text of [multiLine, reExport, dynamic]) {
      expect(violations('core/utf8.ts', text)).not.toEqual([]);
      expect(violations('pubsub/topic.ts', text)).not.toEqual([]);
    }
    expect(violations('node/server.ts', multiLine + reExport + dynamic)).toEqual([]);
  });

  it('applies the table to relative imports', () => {
    expect(violations('core/utf8.ts', "import { x } from '../handshake/index.js';")).toHaveLength(1);
    expect(violations('handshake/accept.ts', "import { x } from '../core/index.js';\nimport { y } from './headers.js';")).toEqual([]);
    expect(violations('pubsub/hub.ts', "import { x } from '../policy/index.js';")).toHaveLength(1);
    expect(violations('policy/rate.ts', "import { x } from '../extensions/index.js';")).toEqual([]);
    expect(violations('extensions/x.ts', "import {\n  WebSocket,\n} from '../node/index.js';")).toHaveLength(1);
    expect(violations('node/server.ts', "import { x } from '../pubsub/index.js';\nimport { y } from '../policy/index.js';")).toEqual([]);
    for (const upper of ['whatwg', 'redis', 'cli']) {
      expect(violations('node/server.ts', `import { x } from '../${upper}/index.js';`)).toHaveLength(1);
      expect(violations(`${upper}/a.ts`, "import { x } from '../node/index.js';\nimport { y } from '../core/index.js';")).toEqual([]);
    }
    expect(violations('cli/main.ts', "import { x } from '../redis/index.js';")).toHaveLength(1);
    expect(violations('node/x.ts', "import { x } from '../index.js';")).toHaveLength(1);
    expect(violations('core/x.ts', "import { x } from '../../package.json';")).toHaveLength(1);
    expect(violations('sockets/x.ts', '')).toHaveLength(1);
  });

  it('bans Buffer, timers and process in sans-I/O code but not in comments', () => {
    expect(violations('core/x.ts', 'const b = Buffer.alloc(1);')).toHaveLength(1);
    expect(violations('policy/x.ts', 'setTimeout(() => {}, 1);')).toHaveLength(1);
    expect(violations('pubsub/x.ts', 'const e = process.env;')).toHaveLength(1);
    expect(violations('core/x.ts', '/** Like `Buffer.allocUnsafe`. */\n// setTimeout\nconst x = 1;')).toEqual([]);
    expect(violations('node/x.ts', 'const b = Buffer.alloc(1); setTimeout(() => {}, 1);')).toEqual([]);
  });

  it('checks the entry point by statement, not by line', () => {
    expect(entryPointViolations("export {\n  WebSocket,\n} from './node/index.js';\nexport * from './whatwg/index.js';\n")).toEqual([]);
    expect(entryPointViolations("export * from './core/index.js';\nconst x = 1;\nexport { x };\n")).toHaveLength(2);
    expect(entryPointViolations("export * from './redis/index.js';")).toHaveLength(1);
    expect(entryPointViolations("export {\n  run,\n} from './cli/index.js';")).toHaveLength(1);
    expect(entryPointViolations("export * from 'node:net';")).toHaveLength(1);
  });
});
