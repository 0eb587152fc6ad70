import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests load BPF programs and start servers: files run in
    // parallel, tests within a file in order.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
