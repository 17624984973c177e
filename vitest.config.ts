import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration suites share the machine's Redis and PostgreSQL; each file uses its own
    // database / key prefix, but running files one at a time keeps timing-sensitive tests honest
    // on a 2-core machine.
    fileParallelism: false,
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
