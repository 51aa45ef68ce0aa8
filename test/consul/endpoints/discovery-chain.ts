import assert from 'node:assert/strict';
import type { EndpointRow } from './table.js';

const chain = {
  Chain: {
    ServiceName: 'web',
    Namespace: 'default',
    Datacenter: 'dc1',
    Protocol: 'tcp',
    StartNode: 'resolver:web.default.dc1',
    Nodes: {
      'resolver:web.default.dc1': {
        Type: 'resolver',
        Name: 'web.default.dc1',
        Resolver: { ConnectTimeout: '5s', Default: true, Target: 'web.default.dc1' },
      },
    },
    Targets: {},
  },
};

export const rows: EndpointRow[] = [
  {
    route: 'GET /v1/discovery-chain/:service',
    call: (c) => c.discoveryChain.get('web', undefined, { compileDc: 'dc2', index: 19 }),
    method: 'GET',
    path: '/v1/discovery-chain/web',
    query: { 'compile-dc': 'dc2', index: '19' },
    reply: { body: chain, headers: { 'X-Consul-Index': '20' } },
    result: (value) => {
      const { data, meta } = value as { data: unknown; meta: { index: number } };
      assert.deepEqual(data, chain);
      assert.equal(meta.index, 20);
    },
  },
  {
    route: 'POST /v1/discovery-chain/:service',
    call: (c) => c.discoveryChain.get('web', { OverrideProtocol: 'grpc', OverrideConnectTimeout: '2s' }),
    method: 'POST',
    path: '/v1/discovery-chain/web',
    body: { OverrideProtocol: 'grpc', OverrideConnectTimeout: '2s' },
    reply: { body: { Chain: { ...chain.Chain, Protocol: 'grpc', CustomizationHash: 'ef15b5b5' } } },
    result: (value) =>
      assert.equal((value as { data: { Chain: { Protocol: string } } }).data.Chain.Protocol, 'grpc'),
  },
];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = [];
