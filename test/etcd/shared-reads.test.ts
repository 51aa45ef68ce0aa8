import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { isEtcdError, SharedWaits, type EtcdError, type EtcdNode, type EtcdResult } from '@polykv/etcd';
import { stopAllServers } from '../helpers/processes.js';
import { nativeWatchers, withClients } from './shared.js';
import { eventually } from './util.js';

after(stopAllServers);

/** A node with its children sorted (etcd lists them in no fixed order). */
function sortedNode(node: EtcdNode): EtcdNode {
  if (!node.nodes) return node;
  return {
    ...node,
    nodes: node.nodes.map(sortedNode).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
  };
}

type Outcome = { node: EtcdNode; etcdIndex: number | undefined } | { error: Partial<EtcdError> };

async function outcome(read: Promise<EtcdResult>): Promise<Outcome> {
  try {
    const result = await read;
    return { node: sortedNode(result.node), etcdIndex: result.etcdIndex };
  } catch (error) {
    assert.ok(isEtcdError(error), String(error));
    const { code, errorCode, etcdMessage, cause, index, statusCode, method, path } = error;
    return { error: { code, errorCode, etcdMessage, cause, index, statusCode, method, path } };
  }
}

describe('etcd shared baseline reads', { timeout: 240_000 }, () => {
  it('coalesced baseline reads answer as individual reads would: missing keys and directories, dirs, hidden keys', () =>
    withClients('shared-read', { counting: true }, async ({ prefix, writer, client, agent }) => {
      const waits = client.waits;
      assert.ok(waits instanceof SharedWaits);
      for (let i = 0; i < 10; i++) await writer.keys.set(`/${prefix}/d/k${i}`, `v${i}`);
      await writer.keys.set(`/${prefix}/d/sub/a`, 'a');
      await writer.keys.set(`/${prefix}/d/sub/deeper/b`, 'b');
      await writer.keys.set(`/${prefix}/d/_hidden`, 'h');
      await writer.keys.mkdir(`/${prefix}/d/empty`);
      const requests: [string, boolean][] = [
        ...Array.from({ length: 10 }, (_, i): [string, boolean] => [`/${prefix}/d/k${i}`, false]),
        [`${prefix}/d/k0`, true],
        [`/${prefix}/d/missing`, false],
        [`/${prefix}/d/sub`, false],
        [`/${prefix}/d/sub`, true],
        [`/${prefix}/d/empty`, false],
        [`/${prefix}/d/_hidden`, false],
        [`/${prefix}/d/k3/below`, false],
      ];
      // No write in between: the batch and the individual reads see the same index.
      const before = agent.reads.length;
      const batched = await Promise.all(
        requests.map(([key, recursive]) => outcome(waits.read(key, { recursive }))),
      );
      const sent = agent.reads.slice(before);
      assert.ok(
        sent.some((path) => path.startsWith(`/v2/keys/${prefix}/d?recursive=true&quorum=true`)),
        `one read of the directory: ${sent.join(', ')}`,
      );
      // The hidden key, and the key below a file (another directory), are read on their own.
      assert.equal(sent.length, 3, sent.join(', '));
      const single = await Promise.all(
        requests.map(([key, recursive]) => outcome(client.keys.get(key, { recursive, quorum: true }))),
      );
      assert.deepEqual(batched, single);
      assert.equal((batched[11] as { error: Partial<EtcdError> }).error.code, 'ETCD_KEY_NOT_FOUND');

      // A directory that does not exist: each key not found, with the read's index.
      const missing = Array.from({ length: 9 }, (_, i) => `/${prefix}/nowhere/deep/k${i}`);
      const gone = await Promise.all(missing.map((key) => outcome(waits.read(key))));
      const goneAlone = await Promise.all(
        missing.map((key) => outcome(client.keys.get(key, { quorum: true }))),
      );
      assert.deepEqual(gone, goneAlone);
      for (const result of gone) {
        assert.ok('error' in result);
        assert.equal(result.error.code, 'ETCD_KEY_NOT_FOUND');
        assert.equal(typeof result.error.index, 'number');
      }

      // Watchers on a directory that does not exist yet: anchored at the read's index, no event lost.
      const later = nativeWatchers(client, missing);
      await later.ready;
      await Promise.all(missing.map((key, i) => writer.keys.set(key, `n${i}`)));
      await eventually(
        () => missing.every((key, i) => later.events.get(key)!.some((event) => event.node.value === `n${i}`)),
        10_000,
        'the first write of each key',
      );
      await Promise.all(later.watchers.map((watcher) => watcher.stop()));
    }));

  it('an aborted read leaves its batch; a batch whose readers all left is not read', () =>
    withClients('shared-abort', { counting: true }, async ({ prefix, writer, client, agent }) => {
      const waits = client.waits;
      for (let i = 0; i < 10; i++) await writer.keys.set(`/${prefix}/k${i}`, `v${i}`);
      const keys = Array.from({ length: 10 }, (_, i) => `/${prefix}/k${i}`);
      const controllers = keys.map(() => new AbortController());
      const reads = keys.map((key, i) => outcome(waits.read!(key, { signal: controllers[i]!.signal })));
      controllers[4]!.abort(new Error('no longer needed'));
      const results = await Promise.all(reads);
      for (const [i, result] of results.entries()) {
        if (i === 4) {
          assert.ok('error' in result);
          assert.equal(result.error.code, 'ETCD_ABORTED');
        } else {
          assert.ok('node' in result);
          assert.equal(result.node.value, `v${i}`);
        }
      }

      // Every reader leaves, before and after the batch is sent: no read reaches etcd / it is aborted.
      const before = agent.reads.length;
      const all = new AbortController();
      const abandoned = keys.map((key) => outcome(waits.read!(key, { signal: all.signal })));
      all.abort();
      for (const result of await Promise.all(abandoned)) {
        assert.ok('error' in result);
        assert.equal(result.error.code, 'ETCD_ABORTED');
      }
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(agent.reads.length, before, 'no read for a batch without readers');
      const late = new AbortController();
      const inFlight = keys.map((key) => outcome(waits.read!(key, { signal: late.signal })));
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      late.abort();
      for (const result of await Promise.all(inFlight)) {
        assert.ok('error' in result);
        assert.equal(result.error.code, 'ETCD_ABORTED');
      }
      // The client still reads after that.
      assert.equal((await waits.read!(`/${prefix}/k1`)).node.value, 'v1');
    }));
});
