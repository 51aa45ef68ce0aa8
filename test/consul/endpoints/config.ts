import assert from 'node:assert/strict';
import type { EndpointRow } from './table.js';

const entry = {
  Kind: 'service-defaults',
  Name: 'web',
  Protocol: 'http',
  MeshGateway: {},
  Expose: {},
  CreateIndex: 30,
  ModifyIndex: 31,
};

export const rows: EndpointRow[] = [
  {
    route: 'PUT /v1/config',
    call: (c) => c.config.apply({ Kind: 'service-defaults', Name: 'web', Protocol: 'http' }, { cas: 31 }),
    method: 'PUT',
    path: '/v1/config',
    query: { cas: '31' },
    body: { Kind: 'service-defaults', Name: 'web', Protocol: 'http' },
    reply: { body: 'false' },
    result: (value) => assert.equal(value, false),
  },
  {
    route: 'GET /v1/config/:kind/:name',
    call: (c) => c.config.get('service-defaults', 'web', { index: 31 }),
    method: 'GET',
    path: '/v1/config/service-defaults/web',
    query: { index: '31' },
    reply: { body: entry, headers: { 'X-Consul-Index': '32' } },
    result: (value) => {
      const { data, meta } = value as { data: unknown; meta: { index: number } };
      assert.deepEqual(data, entry);
      assert.equal(meta.index, 32);
    },
  },
  {
    route: 'GET /v1/config/:kind',
    call: (c) => c.config.list('service-defaults'),
    method: 'GET',
    path: '/v1/config/service-defaults',
    reply: { body: [entry] },
    result: (value) => assert.deepEqual((value as { data: unknown }).data, [entry]),
  },
  {
    route: 'DELETE /v1/config/:kind/:name',
    call: (c) => c.config.delete('service-defaults', 'web', { token: 't' }),
    method: 'DELETE',
    path: '/v1/config/service-defaults/web',
    reply: { body: {} },
    result: (value) => assert.equal(value, undefined),
  },
];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = [];
