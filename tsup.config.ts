import type { Plugin } from 'esbuild';
import { defineConfig, type Options } from 'tsup';

/**
 * Separate entries (`rfc6455/redis`, `rfc6455/whatwg`, the CLI) import the library through its
 * package name, so the classes they use (WebSocket, WebSocketError, ...) are the main entry's, not
 * a second bundled copy.
 */
const mainEntryExternal: Plugin = {
  name: 'main-entry-external',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/(core|handshake|extensions|pubsub|policy|node)\/index\.js$/ }, (args) =>
      /[\\/]src[\\/](redis|cli|whatwg)[\\/]/.test(args.importer) ? { path: 'rfc6455', external: true } : undefined,
    );
  },
};

const common: Options = {
  // No source maps and minified output: the package stays under twice ws's unpacked size.
  sourcemap: false,
  minify: true,
  // Class and function names survive minification (stack traces, `constructor.name`, inspection).
  keepNames: true,
  target: 'node20',
  platform: 'node',
  splitting: false,
  treeshake: true,
  clean: false,
  esbuildPlugins: [mainEntryExternal],
  external: ['redis', 'rfc6455'],
};

// `npm run build` empties dist/ first, runs these builds, then scripts/esm-wrappers.mjs turns each
// ESM entry into a re-export of its CommonJS build: one implementation for `import` and `require`.
export default defineConfig([
  {
    ...common,
    // The implementation: CommonJS. `require('rfc6455')` is the WebSocket class, as with ws.
    entry: { index: 'build/cjs-root.ts', redis: 'src/redis/index.ts', whatwg: 'src/whatwg/index.ts' },
    format: ['cjs'],
    dts: false,
  },
  {
    ...common,
    // The type declarations, and the ESM names the wrapper script re-exports.
    entry: { index: 'src/index.ts', redis: 'src/redis/index.ts', whatwg: 'src/whatwg/index.ts' },
    format: ['esm'],
    dts: { compilerOptions: { stripInternal: true } },
  },
  {
    ...common,
    // The command-line tool (package.json "bin"): its own ESM entry, never imported by the library.
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    dts: false,
  },
]);
