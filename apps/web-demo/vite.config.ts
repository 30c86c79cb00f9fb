// Run through the package scripts (`pnpm dev|build|preview`): they load this file
// natively with tsx and the `@dytrack/source` condition, so the build-time asset
// step runs the workspace packages from source.
import { defineConfig } from 'vite';
import { webDemoConfig } from './src/node/vite-config.js';

export default defineConfig(webDemoConfig());
