// Runs the compiled Keyv suite file (build/test/keyv/suite.vitest.js); keyv.test.ts starts vitest
// with this config. Only that file: every other test of the repository runs under node:test.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['build/test/keyv/suite.vitest.js'],
    // The servers answer over the network; the default 5 s is short on a busy 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
