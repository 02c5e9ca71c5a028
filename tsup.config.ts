import type { Plugin } from 'esbuild';
import { defineConfig } from 'tsup';

/**
 * Separate entries (`rfc6455/redis`) import the library through its package name, so the
 * classes they use (WebSocketError, ...) are the main entry's, not a second bundled copy.
 */
const mainEntryExternal: Plugin = {
  name: 'main-entry-external',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/(core|handshake|extensions|pubsub|policy|node)\/index\.js$/ }, (args) =>
      /[\\/]src[\\/]redis[\\/]/.test(args.importer) ? { path: 'rfc6455', external: true } : undefined,
    );
  },
};

export default defineConfig({
  entry: { index: 'src/index.ts', redis: 'src/redis/index.ts' },
  format: ['esm', 'cjs'],
  dts: { compilerOptions: { stripInternal: true } },
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  splitting: false,
  treeshake: true,
  external: ['redis'],
  esbuildPlugins: [mainEntryExternal],
});
