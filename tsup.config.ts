import type { Plugin } from 'esbuild';
import { defineConfig, type Options } from 'tsup';

/**
 * Separate entries (`rfc6455/redis`, the CLI) import the library through its package name, so
 * the classes they use (WebSocketError, ...) are the main entry's, not a second bundled copy.
 */
const mainEntryExternal: Plugin = {
  name: 'main-entry-external',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/(core|handshake|extensions|pubsub|policy|node)\/index\.js$/ }, (args) =>
      /[\\/]src[\\/](redis|cli)[\\/]/.test(args.importer) ? { path: 'rfc6455', external: true } : undefined,
    );
  },
};

const common: Options = {
  sourcemap: true,
  target: 'node20',
  platform: 'node',
  splitting: false,
  treeshake: true,
  esbuildPlugins: [mainEntryExternal],
};

export default defineConfig([
  {
    ...common,
    entry: { index: 'src/index.ts', redis: 'src/redis/index.ts' },
    format: ['esm', 'cjs'],
    dts: { compilerOptions: { stripInternal: true } },
    // Everything but the CLI's output, which the second build writes meanwhile.
    clean: ['!cli.js', '!cli.js.map'],
    external: ['redis'],
  },
  {
    ...common,
    // The command-line tool (package.json "bin"): its own ESM entry, never imported by the library.
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    dts: false,
    clean: false,
  },
]);
