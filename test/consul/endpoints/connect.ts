import assert from 'node:assert/strict';
import type { EndpointRow } from './table.js';

const id = 'e9ebc19f-d481-42b1-4871-4d298d3acd5c';
const intention = {
  ID: id,
  Description: '',
  SourceNS: 'default',
  SourceName: 'web',
  DestinationNS: 'default',
  DestinationName: 'db',
  SourceType: 'consul',
  Action: 'allow',
  DefaultAddr: '',
  DefaultPort: 0,
  Meta: {},
  Precedence: 9,
  CreatedAt: '2026-11-21T21:56:06.972887382Z',
  UpdatedAt: '2026-11-21T21:56:06.972887382Z',
  Hash: 'qvLSSWzDYfOm1CZLbiNY8Bru+jXrvm6Sb8U7YhvHUK0=',
  CreateIndex: 18,
  ModifyIndex: 18,
};
const roots = {
  ActiveRootID: '66:f0:18:cc',
  TrustDomain: 'c9c56284-0ca9-e692-8931-f4413ecd17bf.consul',
  Roots: [
    { ID: '66:f0:18:cc', Name: 'Consul CA Root Cert', Active: true, RootCert: '-----BEGIN CERTIFICATE-----' },
  ],
};
const caConfig = {
  Provider: 'consul',
  Config: { IntermediateCertTTL: '8760h', LeafCertTTL: '72h', RotationPeriod: '2160h' },
  State: null,
  ForceWithoutCrossSigning: false,
  CreateIndex: 8,
  ModifyIndex: 8,
};

export const rows: EndpointRow[] = [
  {
    route: 'GET /v1/connect/ca/roots',
    call: (c) => c.connect.ca.roots({ cached: true }),
    method: 'GET',
    path: '/v1/connect/ca/roots',
    query: { cached: '' },
    reply: { body: roots, headers: { 'X-Consul-Index': '8', 'X-Cache': 'HIT', Age: '0' } },
    result: (value) => {
      const { data, meta } = value as { data: unknown; meta: { index: number; cacheHit: boolean } };
      assert.deepEqual(data, roots);
      assert.equal(meta.index, 8);
      assert.equal(meta.cacheHit, true);
    },
  },
  {
    route: 'GET /v1/connect/ca/configuration',
    call: (c) => c.connect.ca.getConfiguration(),
    method: 'GET',
    path: '/v1/connect/ca/configuration',
    reply: { body: caConfig },
    result: (value) => assert.deepEqual(value, caConfig),
  },
  {
    route: 'PUT /v1/connect/ca/configuration',
    call: (c) => c.connect.ca.setConfiguration({ Provider: 'consul', Config: { LeafCertTTL: '24h' } }),
    method: 'PUT',
    path: '/v1/connect/ca/configuration',
    body: { Provider: 'consul', Config: { LeafCertTTL: '24h' } },
    reply: { body: '' },
    result: (value) => assert.equal(value, undefined),
  },
  {
    route: 'POST /v1/connect/intentions',
    call: (c) => c.connect.intentions.create({ SourceName: 'web', DestinationName: 'db', Action: 'allow' }),
    method: 'POST',
    path: '/v1/connect/intentions',
    body: { SourceName: 'web', DestinationName: 'db', Action: 'allow' },
    reply: { body: { ID: id } },
    result: (value) => assert.deepEqual(value, { ID: id }),
  },
  {
    route: 'PUT /v1/connect/intentions/:uuid',
    call: (c) =>
      c.connect.intentions.update(
        id,
        { SourceName: 'web', DestinationName: 'db', Action: 'deny' },
        { dc: 'dc1' },
      ),
    method: 'PUT',
    path: `/v1/connect/intentions/${id}`,
    query: { dc: 'dc1' },
    body: { SourceName: 'web', DestinationName: 'db', Action: 'deny' },
    reply: { body: { ID: id } },
    result: (value) => assert.deepEqual(value, { ID: id }),
  },
  {
    route: 'GET /v1/connect/intentions/:uuid',
    call: (c) => c.connect.intentions.get(id),
    method: 'GET',
    path: `/v1/connect/intentions/${id}`,
    reply: { status: 404, body: 'Intention not found' },
    result: (value) => assert.equal((value as { data: unknown }).data, null),
  },
  {
    route: 'GET /v1/connect/intentions',
    call: (c) => c.connect.intentions.list({ filter: 'Action == allow', index: 17 }),
    method: 'GET',
    path: '/v1/connect/intentions',
    query: { filter: 'Action == allow', index: '17' },
    reply: { body: [intention], headers: { 'X-Consul-Index': '18' } },
    result: (value) => {
      const { data, meta } = value as { data: unknown; meta: { index: number } };
      assert.deepEqual(data, [intention]);
      assert.equal(meta.index, 18);
    },
  },
  {
    route: 'DELETE /v1/connect/intentions/:uuid',
    call: (c) => c.connect.intentions.delete(id),
    method: 'DELETE',
    path: `/v1/connect/intentions/${id}`,
    reply: { body: 'true' },
    result: (value) => assert.equal(value, true),
  },
  {
    route: 'GET /v1/connect/intentions/check',
    call: (c) => c.connect.intentions.check('web', 'db', { sourceType: 'consul' }),
    method: 'GET',
    path: '/v1/connect/intentions/check',
    query: { source: 'web', destination: 'db', 'source-type': 'consul' },
    reply: { body: { Allowed: true } },
    result: (value) => assert.deepEqual(value, { Allowed: true }),
  },
  {
    route: 'GET /v1/connect/intentions/match',
    call: (c) => c.connect.intentions.match('source', ['web', 'api']),
    method: 'GET',
    path: '/v1/connect/intentions/match',
    query: { by: 'source', name: ['web', 'api'] },
    reply: { body: { web: [intention], api: [] } },
    result: (value) => assert.deepEqual((value as { data: unknown }).data, { web: [intention], api: [] }),
  },
];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = [];
