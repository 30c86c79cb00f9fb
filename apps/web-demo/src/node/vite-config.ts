/**
 * The web demo's Vite configuration, as a function so that `vite.config.ts`
 * and the end-to-end test build the app the same way.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { defaultClientConditions, type Connect, type Plugin, type UserConfig } from 'vite';
import { APP_ROOT, createDemoAssets, type DemoAssetOptions, type DemoAssets } from './assets.js';

/**
 * Headers that make the page cross-origin isolated, which onnxruntime-web's
 * threaded wasm needs (SharedArrayBuffer). Every resource is same-origin, so
 * `require-corp` costs nothing.
 */
export const CROSS_ORIGIN_ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

function isolationMiddleware(): Connect.NextHandleFunction {
  return (_req: IncomingMessage, res: ServerResponse, next: Connect.NextFunction) => {
    for (const [name, value] of Object.entries(CROSS_ORIGIN_ISOLATION_HEADERS)) res.setHeader(name, value);
    next();
  };
}

/**
 * Serves the demo's assets (ORT wasm, model, sample) from memory in dev, emits
 * them into the bundle in builds, and sends the cross-origin isolation headers
 * from the dev and preview servers.
 */
export function demoAssetsPlugin(options: DemoAssetOptions = {}): Plugin {
  let assets: Promise<DemoAssets> | undefined;
  let base = '/';
  const load = (warn: (message: string) => void): Promise<DemoAssets> => (assets ??= createDemoAssets({ warn, ...options }));
  return {
    name: 'dytrack-web-demo-assets',
    configResolved(config) {
      base = config.base.startsWith('/') ? config.base : '/';
    },
    configureServer(server) {
      server.middlewares.use(isolationMiddleware());
      server.middlewares.use((req, res, next) => {
        const path = decodeURIComponent((req.url ?? '/').split(/[?#]/)[0]!);
        if (!path.startsWith(base)) return next();
        const name = path.slice(base.length);
        load((m) => server.config.logger.warn(m))
          .then((files) => {
            const file = files.get(name);
            if (file === undefined) return next();
            res.setHeader('Content-Type', file.contentType);
            res.setHeader('Content-Length', String(file.bytes.byteLength));
            res.end(file.bytes);
          })
          .catch(next);
      });
    },
    configurePreviewServer(server) {
      server.middlewares.use(isolationMiddleware());
    },
    async generateBundle() {
      const files = await load((m) => this.warn(m));
      for (const [fileName, file] of files) this.emitFile({ type: 'asset', fileName, source: file.bytes });
    },
  };
}

/** Options of {@link webDemoConfig}. */
export interface WebDemoConfigOptions extends DemoAssetOptions {
  /** Build output directory (default `dist` in the app). */
  readonly outDir?: string;
}

/** The Vite configuration of the web demo. */
export function webDemoConfig(options: WebDemoConfigOptions = {}): UserConfig {
  const { outDir, ...assetOptions } = options;
  return {
    root: APP_ROOT,
    // Relative asset URLs: the build works from any path it is served under.
    base: './',
    resolve: {
      // Workspace packages from source (no build step); onnxruntime-web's non-bundled
      // build, which loads its wasm runtime from `wasmPaths` (served by the app).
      conditions: ['@dytrack/source', 'onnxruntime-web-use-extern-wasm', ...defaultClientConditions],
    },
    worker: { format: 'es' },
    optimizeDeps: { exclude: ['onnxruntime-web'] },
    build: {
      outDir: outDir ?? 'dist',
      emptyOutDir: true,
      target: 'es2022',
      // ORT's JavaScript is large by nature; the wasm files are assets, not chunks.
      chunkSizeWarningLimit: 1024,
      // Gzipping 28 MB of wasm for the size report costs seconds and says nothing.
      reportCompressedSize: false,
      // Emitting tens of MB of assets dominates the build time by design: no timing report about it.
      rolldownOptions: { checks: { bundlerTimings: false } },
    },
    server: { headers: { ...CROSS_ORIGIN_ISOLATION_HEADERS } },
    preview: { headers: { ...CROSS_ORIGIN_ISOLATION_HEADERS } },
    plugins: [demoAssetsPlugin(assetOptions)],
  };
}
