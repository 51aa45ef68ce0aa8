import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cachedBinary, findBinary, isCached } from '@polykv/testing';

// findBinary's order: the environment variable, the pinned build in the cache, PATH. Each case
// sets the three places up in a scratch folder and restores the environment afterwards.
const scratch = mkdtempSync(join(tmpdir(), 'polykv-binaries-'));
const saved = { ...process.env };
after(() => {
  process.env = saved;
  rmSync(scratch, { recursive: true, force: true });
});

function executable(path: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, '#!/bin/sh\n');
  chmodSync(path, 0o755);
  return path;
}

test('findBinary: PATH when neither the variable nor the cache has one, the cache before PATH, the variable first', () => {
  const bin = join(scratch, 'bin');
  executable(join(bin, 'etcd'));
  process.env = { ...saved, PATH: bin, POLYKV_CACHE_DIR: join(scratch, 'cache') };
  delete process.env.POLYKV_ETCD_BIN;
  assert.deepEqual(findBinary('etcd'), { path: join(bin, 'etcd'), source: 'path' });
  assert.equal(findBinary('consul'), undefined);

  // A cached build counts only with the installer's sha256 mark beside it.
  executable(cachedBinary('etcd'));
  assert.equal(isCached('etcd'), false);
  writeFileSync(join(cachedBinary('etcd'), '../../../.sha256-ok'), 'checked\n');
  assert.equal(isCached('etcd'), true);
  assert.deepEqual(findBinary('etcd'), { path: cachedBinary('etcd'), source: 'cache' });

  const override = executable(join(scratch, 'elsewhere', 'my-etcd'));
  process.env.POLYKV_ETCD_BIN = override;
  assert.deepEqual(findBinary('etcd'), { path: override, source: 'env' });

  // A variable naming a missing file is a mistake to report, not a reason to run another binary.
  process.env.POLYKV_ETCD_BIN = join(scratch, 'missing');
  assert.throws(() => findBinary('etcd'), /POLYKV_ETCD_BIN=.*missing does not exist/);
});
