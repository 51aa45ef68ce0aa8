import assert from 'node:assert/strict';
import type { EndpointRow } from './table.js';

const uiNode = {
  ID: '',
  Node: 'probe-node',
  Address: '10.9.9.9',
  TaggedAddresses: null,
  Meta: null,
  Services: [],
  Checks: [],
};
const state = {
  Datacenter: 'dc1',
  MeshGateways: null,
  UpdatedAt: '2026-11-21T20:31:49.97638026Z',
  PrimaryModifyIndex: 0,
  CreateIndex: 12,
  ModifyIndex: 12,
};

export const rows: EndpointRow[] = [
  {
    route: 'GET /v1/internal/ui/nodes',
    call: (c) => c.internal.uiNodes({ filter: 'Node != x' }),
    method: 'GET',
    path: '/v1/internal/ui/nodes',
    query: { filter: 'Node != x' },
    reply: { body: [uiNode], headers: { 'X-Consul-Index': '9' } },
    result: (value) => assert.deepEqual((value as { data: unknown }).data, [uiNode]),
  },
  {
    route: 'GET /v1/internal/ui/node/:node',
    call: (c) => c.internal.uiNode('probe-node'),
    method: 'GET',
    path: '/v1/internal/ui/node/probe-node',
    reply: { body: uiNode },
    result: (value) => assert.deepEqual((value as { data: unknown }).data, uiNode),
  },
  {
    route: 'GET /v1/internal/ui/services',
    call: (c) => c.internal.uiServices({ index: 3 }),
    method: 'GET',
    path: '/v1/internal/ui/services',
    query: { index: '3' },
    reply: {
      body: [
        {
          Name: 'consul',
          Tags: null,
          Nodes: ['vm'],
          InstanceCount: 1,
          ChecksPassing: 1,
          ChecksWarning: 0,
          ChecksCritical: 0,
        },
      ],
    },
    result: (value) =>
      assert.equal((value as { data: { InstanceCount: number }[] }).data[0]?.InstanceCount, 1),
  },
  {
    route: 'GET /v1/internal/ui/gateway-services-nodes/:gateway',
    call: (c) => c.internal.uiGatewayServicesNodes('ingress'),
    method: 'GET',
    path: '/v1/internal/ui/gateway-services-nodes/ingress',
    reply: { body: [] },
    result: (value) => assert.deepEqual((value as { data: unknown }).data, []),
  },
  {
    route: 'POST /v1/internal/acl/authorize',
    call: (c) => c.internal.aclAuthorize([{ Resource: 'service', Segment: 'web', Access: 'read' }]),
    method: 'POST',
    path: '/v1/internal/acl/authorize',
    body: [{ Resource: 'service', Segment: 'web', Access: 'read' }],
    reply: { body: [{ Resource: 'service', Segment: 'web', Access: 'read', Allow: true }] },
    result: (value) => assert.equal((value as { Allow: boolean }[])[0]?.Allow, true),
  },
  {
    route: 'GET /v1/internal/federation-states',
    call: (c) => c.internal.federationStates(),
    method: 'GET',
    path: '/v1/internal/federation-states',
    reply: { body: [state] },
    result: (value) => assert.deepEqual((value as { data: unknown }).data, [state]),
  },
  {
    route: 'GET /v1/internal/federation-states/mesh-gateways',
    call: (c) => c.internal.federationStateMeshGateways(),
    method: 'GET',
    path: '/v1/internal/federation-states/mesh-gateways',
    reply: { body: {} },
    result: (value) => assert.deepEqual((value as { data: unknown }).data, {}),
  },
  {
    route: 'GET /v1/internal/federation-state/:datacenter',
    call: (c) => c.internal.federationState('dc9'),
    method: 'GET',
    path: '/v1/internal/federation-state/dc9',
    reply: { status: 404, body: '' },
    result: (value) => assert.equal((value as { data: unknown }).data, null),
  },
];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = [];
