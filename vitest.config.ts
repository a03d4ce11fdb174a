import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // CI reads a plain "N passed, N failed" line that .ci/run prints from this JSON report.
    reporters: process.env['CI']
      ? ['default', ['json', { outputFile: '.tmp/vitest-results.json' }]]
      : ['default'],
    clearMocks: true,
    restoreMocks: true,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        extends: true,
        test: { name: 'golden', include: ['test/golden/**/*.test.ts'], testTimeout: 30_000 },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // Starts (installing when missing) slapd, memcached, nginx and dovecot on loopback.
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 90_000,
          hookTimeout: 300_000,
          // One slapd for every file: files run one after another, each resetting the directory.
          fileParallelism: false,
          maxWorkers: 1,
        },
      },
    ],
  },
});
