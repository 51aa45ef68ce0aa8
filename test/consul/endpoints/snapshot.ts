import assert from 'node:assert/strict';
import type { ConsulResult } from '@polykv/consul';
import type { EndpointRow } from './table.js';

const archive = Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]);

export const rows: EndpointRow[] = [
  {
    route: 'GET /v1/snapshot',
    call: (c) => c.snapshot.save({ stale: true, dc: 'dc1' }),
    method: 'GET',
    path: '/v1/snapshot',
    query: { stale: '', dc: 'dc1' },
    reply: { body: archive, headers: { 'content-type': 'application/x-gzip', 'x-consul-index': '99' } },
    result: (value) => {
      const { data, meta } = value as ConsulResult<Uint8Array>;
      assert.deepEqual(Buffer.from(data), archive);
      assert.equal(meta.index, 99);
    },
  },
  {
    route: 'PUT /v1/snapshot',
    call: (c) => c.snapshot.restore(archive, { dc: 'dc1' }),
    method: 'PUT',
    path: '/v1/snapshot',
    query: { dc: 'dc1' },
    body: archive,
    reply: { body: '' },
    result: (value) => assert.equal(value, undefined),
  },
];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = [];
