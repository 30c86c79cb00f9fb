import { defineConfig, defaultServerConditions } from 'vite';
import { configDefaults } from 'vitest/config';

// Workspace packages export their TypeScript sources under the `@dytrack/source`
// condition, so tests run against source with no build step.
const conditions = ['@dytrack/source', ...defaultServerConditions];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@dytrack/source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
