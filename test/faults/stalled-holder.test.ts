import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { openStore } from '@polykv/core';
import { repoPath, stopAllServers } from '../helpers/processes.js';
import { startConsulDev, startEtcd } from '../helpers/servers.js';

// A lock holder whose process is stopped (SIGSTOP: a long GC pause, a suspended VM) past its TTL
// must not believe it still holds the lock when it wakes up, although none of its timers has run
// yet: `lock.held` is false, `lost` has fired and `lock.signal` is aborted, at the first look. The
// holder is a real child process; the servers are real.

after(stopAllServers);

const HOLDER = fileURLToPath(repoPath('build/test/helpers/lock-holder.js'));

class Holder {
  readonly child: ChildProcessWithoutNullStreams;
  readonly #lines: Interface;
  readonly #queue: string[] = [];
  #wake: (() => void) | undefined;

  constructor(url: string, key: string, ttl: number) {
    this.child = spawn(process.execPath, [HOLDER, url, key, String(ttl)], { stdio: 'pipe' });
    this.child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    this.#lines = createInterface({ input: this.child.stdout });
    this.#lines.on('line', (line) => {
      this.#queue.push(line);
      this.#wake?.();
    });
  }

  async next(timeoutMs = 30_000): Promise<string> {
    const started = Date.now();
    while (this.#queue.length === 0) {
      if (Date.now() - started > timeoutMs) throw new Error('the holder said nothing');
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 200);
      });
    }
    return this.#queue.shift()!;
  }

  async status(): Promise<{ held: boolean; aborted: boolean; lost: boolean }> {
    this.child.stdin.write('status\n');
    return JSON.parse(await this.next()) as { held: boolean; aborted: boolean; lost: boolean };
  }

  stop(): void {
    this.child.kill('SIGCONT');
    this.child.kill('SIGKILL');
  }
}

async function stalledPastTtl(url: string, ttl: number): Promise<void> {
  const key = `stalled-${randomBytes(4).toString('hex')}`;
  const holder = new Holder(url, key, ttl);
  try {
    assert.match(await holder.next(), /^held \d+$/);
    assert.deepEqual(await holder.status(), { held: true, aborted: false, lost: false });
    holder.child.kill('SIGSTOP');
    // Past the TTL (and the local deadline before it), by a second.
    await new Promise((resolve) => setTimeout(resolve, ttl * 1000 + 1000));
    // The question is sent before the holder wakes, so that it is there to read first thing.
    holder.child.stdin.write('status\n');
    holder.child.kill('SIGCONT');
    const status = JSON.parse(await holder.next()) as { held: boolean; aborted: boolean; lost: boolean };
    assert.deepEqual(status, { held: false, aborted: true, lost: true }, 'the holder knows it lost the lock');
    // And someone else can take it.
    const other = await openStore(url);
    const lock = await other.lock(key, { ttl, wait: ttl * 3000 + 20_000 });
    await lock.release();
    await other.close();
  } finally {
    holder.stop();
  }
}

describe('a lock holder stopped past its TTL does not believe it holds the lock', () => {
  it('etcd', { timeout: 60_000 }, async () => {
    const member = await startEtcd();
    await stalledPastTtl(`etcd://${member.host}/stalled`, 2);
  });

  it('consul', { timeout: 90_000 }, async () => {
    const agent = await startConsulDev({ hcl: ['session_ttl_min = "1s"'] });
    await stalledPastTtl(`consul://${agent.address}/stalled?minTtl=1&lockDelay=0`, 2);
  });
});
