import assert from 'node:assert/strict';
import type { EndpointRow } from './table.js';

const check = {
  Node: 'web-1',
  CheckID: 'service:web-1',
  Name: 'web alive',
  Status: 'passing',
  Notes: '',
  Output: 'ok',
  ServiceID: 'web-1',
  ServiceName: 'web',
  ServiceTags: ['v1'],
  Type: 'ttl',
  Definition: {},
  CreateIndex: 20,
  ModifyIndex: 21,
};
const entry = {
  Node: {
    ID: '',
    Node: 'web-1',
    Address: '10.0.0.5',
    Datacenter: 'dc1',
    TaggedAddresses: null,
    Meta: null,
    CreateIndex: 1,
    ModifyIndex: 1,
  },
  Service: {
    ID: 'web-1',
    Service: 'web',
    Tags: ['v1'],
    Address: '',
    Meta: null,
    Port: 8080,
    Weights: { Passing: 1, Warning: 1 },
    EnableTagOverride: false,
    CreateIndex: 20,
    ModifyIndex: 20,
  },
  Checks: [check],
};
const headers = { 'X-Consul-Index': '21', 'X-Consul-Effective-Consistency': 'leader' };

export const rows: EndpointRow[] = [
  {
    route: 'GET /v1/health/node/:node',
    call: (c) => c.health.node('web-1', { consistent: true }),
    method: 'GET',
    path: '/v1/health/node/web-1',
    query: { consistent: '' },
    reply: { body: [check], headers: { ...headers, 'X-Consul-Effective-Consistency': 'consistent' } },
    result: (value) => {
      const { data, meta } = value as {
        data: unknown;
        meta: { effectiveConsistency: string; index: number };
      };
      assert.deepEqual(data, [check]);
      assert.equal(meta.effectiveConsistency, 'consistent');
      assert.equal(meta.index, 21);
    },
  },
  {
    route: 'GET /v1/health/checks/:service',
    call: (c) => c.health.checks('web', { filter: 'Status == "passing"', near: '_agent' }),
    method: 'GET',
    path: '/v1/health/checks/web',
    query: { filter: 'Status == "passing"', near: '_agent' },
    reply: { body: [check], headers },
    result: (value) => assert.deepEqual((value as { data: unknown }).data, [check]),
  },
  {
    route: 'GET /v1/health/service/:service',
    call: (c) =>
      c.health.service('web', { passing: true, tag: ['v1', 'blue'], cached: true, index: 20, wait: 10_000 }),
    method: 'GET',
    path: '/v1/health/service/web',
    query: { passing: '', tag: ['v1', 'blue'], cached: '', index: '20', wait: '10000ms' },
    reply: { body: [entry], headers: { ...headers, 'X-Cache': 'MISS' } },
    result: (value) => {
      const { data, meta } = value as { data: unknown; meta: { cacheHit: boolean; index: number } };
      assert.deepEqual(data, [entry]);
      assert.equal(meta.cacheHit, false);
      assert.equal(meta.index, 21);
    },
  },
  {
    route: 'GET /v1/health/connect/:service',
    call: (c) => c.health.connect('web', { passing: true }),
    method: 'GET',
    path: '/v1/health/connect/web',
    query: { passing: '' },
    reply: { body: [entry], headers },
    result: (value) => assert.deepEqual((value as { data: unknown }).data, [entry]),
  },
  {
    route: 'GET /v1/health/ingress/:service',
    call: (c) => c.health.ingress('web', { dc: 'dc1' }),
    method: 'GET',
    path: '/v1/health/ingress/web',
    query: { dc: 'dc1' },
    reply: { body: [], headers },
    result: (value) => assert.deepEqual((value as { data: unknown }).data, []),
  },
  {
    route: 'GET /v1/health/state/:state',
    call: (c) => c.health.state('critical', { nodeMeta: { env: 'prod' } }),
    method: 'GET',
    path: '/v1/health/state/critical',
    query: { 'node-meta': 'env:prod' },
    reply: { body: [{ ...check, Status: 'critical' }], headers },
    result: (value) => assert.equal((value as { data: { Status: string }[] }).data[0]?.Status, 'critical'),
  },
];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = [];
