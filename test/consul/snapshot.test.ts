import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { ConsulClient, isConsulError, kvText } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import { useAclFixture } from './fixture.js';

after(stopAllServers);

describe('snapshots against a real agent (ACLs on)', () => {
  let client: ConsulClient;
  useAclFixture((fixture) => ({ consul: client } = fixture));

  it('saves, then restores the saved state (bytes and stream)', async () => {
    await client.kv.put('snap/a', 'before');
    const { data: archive, meta } = await client.snapshot.save();
    assert.deepEqual([...archive.subarray(0, 2)], [0x1f, 0x8b], 'a gzip archive');
    assert.ok((meta.index ?? 0) > 0);

    await client.kv.put('snap/a', 'after');
    await client.kv.put('snap/b', 'new');
    await client.snapshot.restore(archive);
    assert.equal(kvText((await client.kv.get('snap/a')).data), 'before');
    assert.equal((await client.kv.get('snap/b')).data, null);

    await client.kv.put('snap/a', 'again');
    const { data: stream } = await client.snapshot.saveStream();
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    await client.kv.put('snap/a', 'later');
    await client.snapshot.restore(Readable.from([Buffer.concat(chunks)]));
    assert.equal(kvText((await client.kv.get('snap/a')).data), 'again');
  });

  it('answers a denied token with CONSUL_PERMISSION_DENIED', async () => {
    const token = '00000000-0000-4000-8000-00000000dead';
    const denied = (error: unknown) => isConsulError(error) && error.code === 'CONSUL_PERMISSION_DENIED';
    await assert.rejects(client.snapshot.save({ token }), denied);
    await assert.rejects(client.snapshot.restore(new Uint8Array([1, 2, 3]), { token }), denied);
  });
});
