import assert from 'node:assert/strict';
import type { EndpointRow } from './table.js';

const node = {
  ID: 'b3f2c1a0-0000-4000-8000-000000000001',
  Node: 'web-1',
  Address: '10.0.0.5',
  Datacenter: 'dc1',
  TaggedAddresses: { lan: '10.0.0.5' },
  Meta: { rack: 'a' },
  CreateIndex: 10,
  ModifyIndex: 12,
};
const service = {
  ID: 'web-1',
  Service: 'web',
  Tags: ['v1'],
  Address: '',
  Meta: null,
  Port: 8080,
  Weights: { Passing: 1, Warning: 1 },
  EnableTagOverride: false,
  CreateIndex: 11,
  ModifyIndex: 11,
};
const serviceNode = {
  ID: node.ID,
  Node: 'web-1',
  Address: '10.0.0.5',
  Datacenter: 'dc1',
  TaggedAddresses: null,
  NodeMeta: null,
  ServiceKind: '',
  ServiceID: 'web-1',
  ServiceName: 'web',
  ServiceTags: ['v1', 'blue'],
  ServiceAddress: '',
  ServiceWeights: { Passing: 1, Warning: 1 },
  ServiceMeta: {},
  ServicePort: 8080,
  ServiceEnableTagOverride: false,
  CreateIndex: 11,
  ModifyIndex: 11,
};
const blockingHeaders = { 'X-Consul-Index': '42', 'X-Consul-Effective-Consistency': 'leader' };

export const rows: EndpointRow[] = [
  {
    route: 'PUT /v1/catalog/register',
    call: (c) =>
      c.catalog.register(
        { Node: 'web-1', Address: '10.0.0.5', Service: { Service: 'web', Port: 8080 } },
        { token: 't' },
      ),
    method: 'PUT',
    path: '/v1/catalog/register',
    body: { Node: 'web-1', Address: '10.0.0.5', Service: { Service: 'web', Port: 8080 } },
    reply: { body: 'true' },
    result: (value) => assert.equal(value, true),
  },
  {
    route: 'PUT /v1/catalog/deregister',
    call: (c) => c.catalog.deregister({ Node: 'web-1', ServiceID: 'web-1' }, { dc: 'dc2' }),
    method: 'PUT',
    path: '/v1/catalog/deregister',
    query: { dc: 'dc2' },
    body: { Node: 'web-1', ServiceID: 'web-1' },
    reply: { body: 'true' },
    result: (value) => assert.equal(value, true),
  },
  {
    route: 'GET /v1/catalog/datacenters',
    call: (c) => c.catalog.datacenters(),
    method: 'GET',
    path: '/v1/catalog/datacenters',
    reply: { body: ['dc1', 'dc2'] },
    result: (value) => assert.deepEqual(value, ['dc1', 'dc2']),
  },
  {
    route: 'GET /v1/catalog/nodes',
    call: (c) => c.catalog.nodes({ near: '_agent', nodeMeta: { rack: 'a' }, index: 41, wait: '30s' }),
    method: 'GET',
    path: '/v1/catalog/nodes',
    query: { near: '_agent', 'node-meta': 'rack:a', index: '41', wait: '30s' },
    reply: { body: [node], headers: blockingHeaders },
    result: (value) => {
      const { data, meta } = value as {
        data: unknown[];
        meta: { index: number; effectiveConsistency: string };
      };
      assert.deepEqual(data, [node]);
      assert.equal(meta.index, 42);
      assert.equal(meta.effectiveConsistency, 'leader');
    },
  },
  {
    route: 'GET /v1/catalog/services',
    call: (c) => c.catalog.services({ stale: true, filter: 'ServiceName != "x"' }),
    method: 'GET',
    path: '/v1/catalog/services',
    query: { stale: '', filter: 'ServiceName != "x"' },
    reply: { body: { consul: [], web: ['v1'] }, headers: blockingHeaders },
    result: (value) => assert.deepEqual((value as { data: unknown }).data, { consul: [], web: ['v1'] }),
  },
  {
    route: 'GET /v1/catalog/service/:service',
    call: (c) => c.catalog.service('web api', { tag: ['v1', 'blue'], cached: true }),
    method: 'GET',
    path: '/v1/catalog/service/web%20api',
    query: { tag: ['v1', 'blue'], cached: '' },
    reply: { body: [serviceNode], headers: { ...blockingHeaders, 'X-Cache': 'HIT', Age: '3' } },
    result: (value) => {
      const { data, meta } = value as { data: unknown[]; meta: { cacheHit: boolean; cacheAge: number } };
      assert.deepEqual(data, [serviceNode]);
      assert.equal(meta.cacheHit, true);
      assert.equal(meta.cacheAge, 3);
    },
  },
  {
    route: 'GET /v1/catalog/connect/:service',
    call: (c) => c.catalog.connect('web', { tag: 'v1' }),
    method: 'GET',
    path: '/v1/catalog/connect/web',
    query: { tag: 'v1' },
    reply: { body: [{ ...serviceNode, ServiceKind: 'connect-proxy' }] },
    result: (value) =>
      assert.equal((value as { data: { ServiceKind: string }[] }).data[0]?.ServiceKind, 'connect-proxy'),
  },
  {
    route: 'GET /v1/catalog/node/:node',
    call: (c) => c.catalog.node('web/1'),
    method: 'GET',
    path: '/v1/catalog/node/web%2F1',
    reply: { body: { Node: node, Services: { 'web-1': service } } },
    result: (value) =>
      assert.deepEqual((value as { data: unknown }).data, { Node: node, Services: { 'web-1': service } }),
  },
  {
    route: 'GET /v1/catalog/node-services/:node',
    call: (c) => c.catalog.nodeServices('gone'),
    method: 'GET',
    path: '/v1/catalog/node-services/gone',
    // What 1.8.7 answers for an unknown node.
    reply: { body: { Node: null, Services: null } },
    result: (value) => assert.equal((value as { data: unknown }).data, null),
  },
  {
    route: 'GET /v1/catalog/gateway-services/:gateway',
    call: (c) => c.catalog.gatewayServices('ingress', { index: 5 }),
    method: 'GET',
    path: '/v1/catalog/gateway-services/ingress',
    query: { index: '5' },
    reply: {
      body: [
        {
          Gateway: { Name: 'ingress' },
          Service: { Name: 'web' },
          GatewayKind: 'ingress-gateway',
          Port: 8080,
        },
      ],
    },
    result: (value) =>
      assert.equal((value as { data: { GatewayKind: string }[] }).data[0]?.GatewayKind, 'ingress-gateway'),
  },
];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = [];
