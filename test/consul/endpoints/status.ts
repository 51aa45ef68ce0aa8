import assert from 'node:assert/strict';
import type { EndpointRow } from './table.js';

export const rows: EndpointRow[] = [
  {
    route: 'GET /v1/status/leader',
    call: (c) => c.status.leader({ dc: 'dc2' }),
    method: 'GET',
    path: '/v1/status/leader',
    query: { dc: 'dc2' },
    reply: { body: '"127.0.0.1:8300"' },
    result: (value) => assert.equal(value, '127.0.0.1:8300'),
  },
  {
    route: 'GET /v1/status/peers',
    call: (c) => c.status.peers({ token: 'secret' }),
    method: 'GET',
    path: '/v1/status/peers',
    reply: { body: ['127.0.0.1:8300'] },
    result: (value) => assert.deepEqual(value, ['127.0.0.1:8300']),
  },
];

/** Routes of this group without a row yet. */
export const pending: string[] = [];
