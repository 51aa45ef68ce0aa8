import assert from 'node:assert/strict';
import type { AgentMetrics } from '@polykv/consul';
import type { EndpointRow } from './table.js';

const member = {
  Name: 'foobar',
  Addr: '10.1.10.12',
  Port: 8301,
  Tags: {
    bootstrap: '1',
    dc: 'dc1',
    id: '40e4a748-2192-161a-0510-9bf59fe950b5',
    port: '8300',
    role: 'consul',
  },
  Status: 1,
  ProtocolMin: 1,
  ProtocolMax: 5,
  ProtocolCur: 2,
  DelegateMin: 2,
  DelegateMax: 5,
  DelegateCur: 5,
};
const check = {
  Node: 'foobar',
  CheckID: 'service:redis',
  Name: 'Service redis check',
  Status: 'passing',
  Notes: '',
  Output: '',
  ServiceID: 'redis',
  ServiceName: 'redis',
  ServiceTags: ['primary'],
  Type: 'ttl',
  Definition: {},
  CreateIndex: 0,
  ModifyIndex: 0,
};
const service = {
  ID: 'redis',
  Service: 'redis',
  Tags: ['primary'],
  Meta: { redis_version: '4.0' },
  Port: 8000,
  Address: '',
  Weights: { Passing: 10, Warning: 1 },
  EnableTagOverride: false,
};
const roots = {
  ActiveRootID: '15:bf:3a:f5:a1:a5:a3:ea:b5:5e:f0:33:d6:4c:65:9d:0b:d7:bc:e9',
  TrustDomain: '7f42f496-fbc7-8692-05ed-334aa5340c1e.consul',
  Roots: [
    {
      ID: '15:bf:3a:f5:a1:a5:a3:ea:b5:5e:f0:33:d6:4c:65:9d:0b:d7:bc:e9',
      Name: 'Consul CA Root Cert',
      SerialNumber: 7,
      SigningKeyID:
        '2d:09:5d:84:b9:89:4b:dd:e3:88:bb:9c:e2:b2:69:81:1f:4b:a6:fd:4d:df:ee:74:63:f3:74:55:ca:b0:b5:65',
      ExternalTrustDomain: 'a1499528-fbf6-df7b-05e5-ae81e1873fc4',
      NotBefore: '2018-05-25T21:39:23Z',
      NotAfter: '2028-05-22T21:39:23Z',
      RootCert: '-----BEGIN CERTIFICATE-----\n...',
      IntermediateCerts: null,
      Active: true,
      PrivateKeyType: 'ec',
      PrivateKeyBits: 256,
      CreateIndex: 8,
      ModifyIndex: 8,
    },
  ],
};
const leaf = {
  SerialNumber: '9a:ef:e2:f9:3b:2b:57:b1:d2:3d:8a:fd:1e:b5:20:b8:b3:7c:93:fc',
  CertPEM: '-----BEGIN CERTIFICATE-----\n...',
  PrivateKeyPEM: '-----BEGIN EC PRIVATE KEY-----\n...',
  Service: 'web',
  ServiceURI: 'spiffe://7f42f496-fbc7-8692-05ed-334aa5340c1e.consul/ns/default/dc/dc1/svc/web',
  ValidAfter: '2018-05-25T21:39:23Z',
  ValidBefore: '2018-05-28T21:39:23Z',
  CreateIndex: 5,
  ModifyIndex: 5,
};
const health = { AggregatedStatus: 'warning', Service: service, Checks: [{ ...check, Status: 'warning' }] };

const equals = (expected: unknown) => (value: unknown) => assert.deepEqual(value, expected);
const dataEquals = (expected: unknown) => (value: unknown) =>
  assert.deepEqual((value as { data: unknown }).data, expected);

/** The agent's token types (`PUT /v1/agent/token/:type`); test/consul/agent.test sets each. */
export const AGENT_TOKEN_TYPES = [
  'default',
  'agent',
  'agent_master',
  'replication',
  'acl_token',
  'acl_agent_token',
  'acl_agent_master_token',
  'acl_replication_token',
] as const;

/** One row per agent token type: each a separate route of the TSV. */
const tokenRows: EndpointRow[] = AGENT_TOKEN_TYPES.map((type) => ({
  route: `PUT /v1/agent/token/${type}`,
  call: (c) => c.agent.updateToken(type, 'e5b4a46d-0d8d-4b8b-a3ee-3d1b8d8c1b7f'),
  method: 'PUT',
  path: `/v1/agent/token/${type}`,
  body: { Token: 'e5b4a46d-0d8d-4b8b-a3ee-3d1b8d8c1b7f' },
  reply: { body: '' },
  result: equals(undefined),
}));

export const rows: EndpointRow[] = [
  {
    route: 'GET /v1/agent/host',
    call: (c) => c.agent.host(),
    method: 'GET',
    path: '/v1/agent/host',
    reply: {
      body: {
        Memory: { total: 25276510208, available: 24932429824 },
        CPU: [{ cpu: 0, modelName: 'vCPU' }],
        Host: { hostname: 'vm', os: 'linux' },
        Disk: { path: '/', total: 1000 },
        CollectionTime: 1606000000000000000,
        Errors: null,
      },
    },
    result: (value) => assert.equal((value as { Host: { os: string } }).Host.os, 'linux'),
  },
  {
    route: 'GET /v1/agent/members',
    call: (c) => c.agent.members({ wan: true, segment: '_all' }),
    method: 'GET',
    path: '/v1/agent/members',
    query: { wan: '1', segment: '_all' },
    reply: { body: [member] },
    result: equals([member]),
  },
  {
    route: 'GET /v1/agent/self',
    call: (c) => c.agent.self({ token: 'secret' }),
    method: 'GET',
    path: '/v1/agent/self',
    reply: {
      body: {
        Config: {
          Datacenter: 'dc1',
          NodeName: 'foobar',
          NodeID: 'x',
          Server: true,
          Revision: 'a',
          Version: '1.8.7',
        },
        DebugConfig: {},
        Coord: { Vec: [0, 0], Error: 1.5, Adjustment: 0, Height: 1e-5 },
        Member: member,
        Stats: { agent: { checks: '0' } },
        Meta: {},
      },
    },
    result: (value) => assert.equal((value as { Config: { Version: string } }).Config.Version, '1.8.7'),
  },
  {
    route: 'PUT /v1/agent/reload',
    call: (c) => c.agent.reload(),
    method: 'PUT',
    path: '/v1/agent/reload',
    reply: { body: '' },
    result: equals(undefined),
  },
  {
    route: 'PUT /v1/agent/maintenance',
    call: (c) => c.agent.maintenance(true, 'patching & reboot'),
    method: 'PUT',
    path: '/v1/agent/maintenance',
    query: { enable: 'true', reason: 'patching & reboot' },
    reply: { body: '' },
    result: equals(undefined),
  },
  {
    route: 'GET /v1/agent/metrics',
    call: (c) => c.agent.metrics(),
    method: 'GET',
    path: '/v1/agent/metrics',
    reply: {
      body: {
        Timestamp: '2017-08-08 02:55:10 +0000 UTC',
        Gauges: [{ Name: 'consul.consul.session_ttl.active', Value: 0, Labels: {} }],
        Points: [],
        Counters: [],
        Samples: [],
      },
    },
    result: (value) =>
      assert.equal((value as AgentMetrics).Gauges[0]!.Name, 'consul.consul.session_ttl.active'),
  },
  {
    route: 'GET /v1/agent/metrics',
    call: (c) => c.agent.metricsPrometheus(),
    method: 'GET',
    path: '/v1/agent/metrics',
    query: { format: 'prometheus' },
    reply: { body: '# TYPE consul_runtime_alloc_bytes gauge\nconsul_runtime_alloc_bytes 1.2e+07\n' },
    result: (value) => assert.match(value as string, /consul_runtime_alloc_bytes 1.2e\+07/),
  },
  {
    route: 'GET /v1/agent/monitor',
    call: async (c) => {
      const lines: string[] = [];
      for await (const line of c.agent.monitor({ logLevel: 'debug', logJson: true })) lines.push(line);
      return lines;
    },
    method: 'GET',
    path: '/v1/agent/monitor',
    query: { loglevel: 'debug', logjson: '' },
    reply: { body: '{"@level":"info","@message":"one"}\n{"@level":"debug","@message":"two"}\n' },
    result: equals(['{"@level":"info","@message":"one"}', '{"@level":"debug","@message":"two"}']),
  },
  {
    route: 'PUT /v1/agent/join/:address',
    call: (c) => c.agent.join('10.0.0.2:8301', { wan: true }),
    method: 'PUT',
    path: '/v1/agent/join/10.0.0.2%3A8301',
    query: { wan: '1' },
    reply: { body: '' },
    result: equals(undefined),
  },
  {
    route: 'PUT /v1/agent/leave',
    call: (c) => c.agent.leave(),
    method: 'PUT',
    path: '/v1/agent/leave',
    reply: { body: '' },
    result: equals(undefined),
  },
  {
    route: 'PUT /v1/agent/force-leave/:node_name',
    call: (c) => c.agent.forceLeave('node 2', { prune: true }),
    method: 'PUT',
    path: '/v1/agent/force-leave/node%202',
    query: { prune: '' },
    reply: { body: '' },
    result: equals(undefined),
  },
  ...tokenRows,
  // Checks
  {
    route: 'GET /v1/agent/checks',
    call: (c) => c.agent.checks.list({ filter: 'Status == passing' }),
    method: 'GET',
    path: '/v1/agent/checks',
    query: { filter: 'Status == passing' },
    reply: { body: { 'service:redis': check } },
    result: equals({ 'service:redis': check }),
  },
  {
    route: 'PUT /v1/agent/check/register',
    call: (c) => c.agent.checks.register({ ID: 'mem', Name: 'Memory utilization', TTL: '15s', Notes: 'ttl' }),
    method: 'PUT',
    path: '/v1/agent/check/register',
    body: { ID: 'mem', Name: 'Memory utilization', TTL: '15s', Notes: 'ttl' },
    reply: { body: '' },
    result: equals(undefined),
  },
  {
    route: 'PUT /v1/agent/check/deregister/:check_id',
    call: (c) => c.agent.checks.deregister('service:redis'),
    method: 'PUT',
    path: '/v1/agent/check/deregister/service%3Aredis',
    reply: { body: '' },
    result: equals(undefined),
  },
  {
    route: 'PUT /v1/agent/check/pass/:check_id',
    call: (c) => c.agent.checks.pass('mem', 'all good'),
    method: 'PUT',
    path: '/v1/agent/check/pass/mem',
    query: { note: 'all good' },
    reply: { body: '' },
    result: equals(undefined),
  },
  {
    route: 'PUT /v1/agent/check/warn/:check_id',
    call: (c) => c.agent.checks.warn('mem'),
    method: 'PUT',
    path: '/v1/agent/check/warn/mem',
    reply: { body: '' },
    result: equals(undefined),
  },
  {
    route: 'PUT /v1/agent/check/fail/:check_id',
    call: (c) => c.agent.checks.fail('mem', 'out of memory'),
    method: 'PUT',
    path: '/v1/agent/check/fail/mem',
    query: { note: 'out of memory' },
    reply: { body: '' },
    result: equals(undefined),
  },
  {
    route: 'PUT /v1/agent/check/update/:check_id',
    call: (c) => c.agent.checks.update('mem', { Status: 'warning', Output: '92% used' }),
    method: 'PUT',
    path: '/v1/agent/check/update/mem',
    body: { Status: 'warning', Output: '92% used' },
    reply: { body: '' },
    result: equals(undefined),
  },
  // Services
  {
    route: 'GET /v1/agent/services',
    call: (c) => c.agent.services.list({ filter: 'Service == redis' }),
    method: 'GET',
    path: '/v1/agent/services',
    query: { filter: 'Service == redis' },
    reply: { body: { redis: service } },
    result: equals({ redis: service }),
  },
  {
    route: 'GET /v1/agent/service/:service_id',
    call: (c) => c.agent.services.get('redis', { hash: 'b0f3d3ea22bad4a3', wait: '30s' }),
    method: 'GET',
    path: '/v1/agent/service/redis',
    query: { hash: 'b0f3d3ea22bad4a3', wait: '30s' },
    reply: {
      body: { ...service, ContentHash: '4ecd29c7bc647ca8' },
      headers: { 'X-Consul-ContentHash': '4ecd29c7bc647ca8' },
    },
    result: (value) => {
      const { data, meta } = value as { data: { ID: string }; meta: { contentHash: string } };
      assert.equal(data.ID, 'redis');
      assert.equal(meta.contentHash, '4ecd29c7bc647ca8');
    },
  },
  {
    route: 'GET /v1/agent/health/service/name/:service_name',
    call: (c) => c.agent.services.healthByName('redis'),
    method: 'GET',
    path: '/v1/agent/health/service/name/redis',
    reply: { status: 429, body: [health] },
    result: equals({ status: 'warning', data: [health] }),
  },
  {
    route: 'GET /v1/agent/health/service/id/:service_id',
    call: (c) => c.agent.services.healthById('redis'),
    method: 'GET',
    path: '/v1/agent/health/service/id/redis',
    reply: { status: 503, body: { ...health, AggregatedStatus: 'critical' } },
    result: equals({ status: 'critical', data: { ...health, AggregatedStatus: 'critical' } }),
  },
  {
    route: 'PUT /v1/agent/service/register',
    call: (c) =>
      c.agent.services.register(
        { ID: 'redis1', Name: 'redis', Tags: ['primary'], Port: 8000, Check: { TTL: '10s' } },
        { replaceExistingChecks: true },
      ),
    method: 'PUT',
    path: '/v1/agent/service/register',
    query: { 'replace-existing-checks': '' },
    body: { ID: 'redis1', Name: 'redis', Tags: ['primary'], Port: 8000, Check: { TTL: '10s' } },
    reply: { body: '' },
    result: equals(undefined),
  },
  {
    route: 'PUT /v1/agent/service/deregister/:service_id',
    call: (c) => c.agent.services.deregister('redis1'),
    method: 'PUT',
    path: '/v1/agent/service/deregister/redis1',
    reply: { body: '' },
    result: equals(undefined),
  },
  {
    route: 'PUT /v1/agent/service/maintenance/:service_id',
    call: (c) => c.agent.services.maintenance('redis1', false),
    method: 'PUT',
    path: '/v1/agent/service/maintenance/redis1',
    query: { enable: 'false' },
    reply: { body: '' },
    result: equals(undefined),
  },
  // Connect
  {
    route: 'POST /v1/agent/connect/authorize',
    call: (c) =>
      c.agent.connect.authorize({
        Target: 'db',
        ClientCertURI: leaf.ServiceURI,
        ClientCertSerial: '04:00:00',
      }),
    method: 'POST',
    path: '/v1/agent/connect/authorize',
    body: { Target: 'db', ClientCertURI: leaf.ServiceURI, ClientCertSerial: '04:00:00' },
    reply: { body: { Authorized: true, Reason: 'Matched intention: web => db (allow)' } },
    result: equals({ Authorized: true, Reason: 'Matched intention: web => db (allow)' }),
  },
  {
    route: 'GET /v1/agent/connect/ca/roots',
    call: (c) => c.agent.connect.caRoots({ index: 8, wait: 5000 }),
    method: 'GET',
    path: '/v1/agent/connect/ca/roots',
    query: { index: '8', wait: '5000ms' },
    reply: { body: roots, headers: { 'X-Consul-Index': '9' } },
    result: (value) => {
      const { data, meta } = value as { data: unknown; meta: { index: number } };
      assert.deepEqual(data, roots);
      assert.equal(meta.index, 9);
    },
  },
  {
    route: 'GET /v1/agent/connect/ca/leaf/:service',
    call: (c) => c.agent.connect.leafCert('web'),
    method: 'GET',
    path: '/v1/agent/connect/ca/leaf/web',
    reply: { body: leaf },
    result: dataEquals(leaf),
  },
];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = [];
