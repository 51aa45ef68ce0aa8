import assert from 'node:assert/strict';
import type { ConsulResult, SessionEntry } from '@polykv/consul';
import type { EndpointRow } from './table.js';

const entry = {
  ID: 'adf4238a-882b-9ddc-4a9d-5b6758e4159e',
  Name: 'probe-sess',
  Node: 'vm',
  LockDelay: 15000000000,
  Behavior: 'release',
  TTL: '30s',
  NodeChecks: ['serfHealth'],
  ServiceChecks: null,
  CreateIndex: 30,
  ModifyIndex: 30,
};

export const rows: EndpointRow[] = [
  {
    route: 'PUT /v1/session/create',
    call: (c) =>
      c.session.create(
        { Name: 'probe-sess', TTL: 30_000, LockDelay: '5s', Behavior: 'delete' },
        { dc: 'dc1' },
      ),
    method: 'PUT',
    path: '/v1/session/create',
    query: { dc: 'dc1' },
    body: { Name: 'probe-sess', TTL: '30s', LockDelay: '5s', Behavior: 'delete' },
    reply: { body: { ID: entry.ID } },
    result: (value) => assert.equal(value, entry.ID),
  },
  {
    route: 'PUT /v1/session/destroy/:uuid',
    call: (c) => c.session.destroy(entry.ID),
    method: 'PUT',
    path: `/v1/session/destroy/${entry.ID}`,
    reply: { body: 'true' },
    result: (value) => assert.equal(value, true),
  },
  {
    route: 'GET /v1/session/info/:uuid',
    call: (c) => c.session.info(entry.ID, { consistent: true }),
    method: 'GET',
    path: `/v1/session/info/${entry.ID}`,
    query: { consistent: '' },
    reply: { body: [entry], headers: { 'x-consul-index': '30' } },
    result: (value) => {
      const { data, meta } = value as ConsulResult<SessionEntry | null>;
      assert.equal(data?.ID, entry.ID);
      assert.equal(meta.index, 30);
    },
  },
  {
    route: 'GET /v1/session/info/:uuid',
    call: (c) => c.session.info('00000000-0000-0000-0000-000000000000'),
    method: 'GET',
    path: '/v1/session/info/00000000-0000-0000-0000-000000000000',
    reply: { body: [] },
    result: (value) => assert.equal((value as ConsulResult<SessionEntry | null>).data, null),
  },
  {
    route: 'GET /v1/session/node/:node',
    call: (c) => c.session.node('vm', { index: 3, wait: 1000 }),
    method: 'GET',
    path: '/v1/session/node/vm',
    query: { index: '3', wait: '1000ms' },
    reply: { body: [entry] },
    result: (value) => assert.equal((value as ConsulResult<SessionEntry[]>).data.length, 1),
  },
  {
    route: 'GET /v1/session/list',
    call: (c) => c.session.list({ stale: true }),
    method: 'GET',
    path: '/v1/session/list',
    query: { stale: '' },
    reply: { body: [entry] },
    result: (value) => assert.equal((value as ConsulResult<SessionEntry[]>).data[0]?.TTL, '30s'),
  },
  {
    route: 'PUT /v1/session/renew/:uuid',
    call: (c) => c.session.renew(entry.ID),
    method: 'PUT',
    path: `/v1/session/renew/${entry.ID}`,
    reply: { body: [entry] },
    result: (value) => assert.equal((value as SessionEntry).ID, entry.ID),
  },
  {
    route: 'PUT /v1/session/renew/:uuid',
    call: (c) => c.session.renew(entry.ID),
    method: 'PUT',
    path: `/v1/session/renew/${entry.ID}`,
    reply: { status: 404, body: `Session id '${entry.ID}' not found` },
    result: (value) => assert.equal(value, null),
  },
];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = [];
