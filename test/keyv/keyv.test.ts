import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { startConsul, startEtcd, stopAllServers } from '@polykv/testing';
import { repoPath } from '../helpers/processes.js';

after(stopAllServers);

// @keyv/test-suite 2.1.2's keyvTestSuite: 22 API, 13 value and 3 namespace tests.
const SUITE_TESTS = 38;

test('KeyvPolykv passes @keyv/test-suite under vitest against memory://, etcd v2 and v3, and Consul', async () => {
  const [etcd, consul] = await Promise.all([startEtcd(), startConsul()]);
  const urls = ['memory://keyv', etcd.storeUrl, etcd.v3StoreUrl, consul.storeUrl];
  const out = mkdtempSync(join(tmpdir(), 'polykv-keyv-'));
  const report = join(out, 'vitest.json');
  try {
    const root = fileURLToPath(repoPath(''));
    const child = spawn(
      process.execPath,
      [
        join(root, 'node_modules/vitest/vitest.mjs'),
        'run',
        '--config',
        join(root, 'test/keyv/vitest.config.mjs'),
        '--reporter=default',
        '--reporter=json',
        `--outputFile.json=${report}`,
      ],
      {
        cwd: root,
        env: { ...process.env, POLYKV_KEYV_URLS: JSON.stringify(urls) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const result = JSON.parse(readFileSync(report, 'utf8')) as {
      numPassedTests: number;
      numFailedTests: number;
      numTotalTests: number;
    };
    assert.equal(code, 0, output);
    assert.deepEqual(
      { passed: result.numPassedTests, failed: result.numFailedTests },
      { passed: SUITE_TESTS * urls.length, failed: 0 },
      output,
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
