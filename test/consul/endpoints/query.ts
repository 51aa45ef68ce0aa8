import assert from 'node:assert/strict';
import type { EndpointRow } from './table.js';

const id = 'bd8e1619-248a-3ee6-29c0-241b3ff6ac4e';
const query = {
  ID: id,
  Name: 'pq1',
  Session: '',
  Token: '',
  Service: { Service: 'web', Failover: { NearestN: 0, Datacenters: null }, OnlyPassing: true, Tags: ['v1'] },
  DNS: { TTL: '' },
  CreateIndex: 40,
  ModifyIndex: 40,
};
const input = { Name: 'pq1', Service: { Service: 'web', OnlyPassing: true, Tags: ['v1'] } };

export const rows: EndpointRow[] = [
  {
    route: 'POST /v1/query',
    call: (c) => c.query.create(input, { token: 't' }),
    method: 'POST',
    path: '/v1/query',
    body: input,
    reply: { body: { ID: id } },
    result: (value) => assert.deepEqual(value, { ID: id }),
  },
  {
    route: 'GET /v1/query',
    call: (c) => c.query.list({ index: 39 }),
    method: 'GET',
    path: '/v1/query',
    query: { index: '39' },
    reply: { body: [query], headers: { 'X-Consul-Index': '40' } },
    result: (value) => {
      const { data, meta } = value as { data: unknown; meta: { index: number } };
      assert.deepEqual(data, [query]);
      assert.equal(meta.index, 40);
    },
  },
  {
    route: 'GET /v1/query/:uuid',
    call: (c) => c.query.get(id),
    method: 'GET',
    path: `/v1/query/${id}`,
    // Consul answers a one-element list.
    reply: { body: [query] },
    result: (value) => assert.deepEqual((value as { data: unknown }).data, query),
  },
  {
    route: 'PUT /v1/query/:uuid',
    call: (c) => c.query.update(id, input),
    method: 'PUT',
    path: `/v1/query/${id}`,
    body: input,
    reply: { body: '' },
    result: (value) => assert.equal(value, undefined),
  },
  {
    route: 'DELETE /v1/query/:uuid',
    call: (c) => c.query.delete(id, { dc: 'dc1' }),
    method: 'DELETE',
    path: `/v1/query/${id}`,
    query: { dc: 'dc1' },
    reply: { body: '' },
    result: (value) => assert.equal(value, undefined),
  },
  {
    route: 'GET /v1/query/:uuid/execute',
    call: (c) => c.query.execute('pq 1', { near: '_agent', limit: 3 }),
    method: 'GET',
    path: '/v1/query/pq%201/execute',
    query: { near: '_agent', limit: '3' },
    reply: {
      body: {
        Service: 'web',
        Nodes: [],
        DNS: { TTL: '' },
        Datacenter: 'dc1',
        Failovers: 0,
        Index: 0,
        LastContact: 0,
        KnownLeader: true,
        ConsistencyLevel: 'leader',
      },
    },
    result: (value) => assert.equal((value as { data: { Datacenter: string } }).data.Datacenter, 'dc1'),
  },
  {
    route: 'GET /v1/query/:uuid/explain',
    call: (c) => c.query.explain(id),
    method: 'GET',
    path: `/v1/query/${id}/explain`,
    reply: { body: { Query: query } },
    result: (value) => assert.deepEqual(value, { Query: query }),
  },
];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = [];
