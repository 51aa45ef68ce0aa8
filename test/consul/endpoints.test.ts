import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ConsulClient } from '@polykv/consul';
import { FakeServer } from '../helpers/fake-server.js';
import { repoPath } from '../helpers/processes.js';
import { groups } from './endpoints/index.js';
import type { EndpointRow } from './endpoints/table.js';

// One row per endpoint: the exact method, path, query and body each call sends, against a
// recording server. Behaviour is tested against the real agent elsewhere; this pins the wire shape.
const loaded: [string, EndpointRow[]][] = await Promise.all(
  Object.entries(groups).map(async ([name, load]) => [name, (await load()).rows] as [string, EndpointRow[]]),
);

describe('Consul endpoint table', () => {
  let fake: FakeServer;
  let client: ConsulClient;
  before(async () => {
    fake = await FakeServer.start();
    client = new ConsulClient({ address: fake.address });
  });
  after(async () => {
    await client.close();
    await fake.close();
  });

  for (const [group, rows] of loaded) {
    describe(group, () => {
      for (const row of rows) {
        it(`${row.route} (${row.method} ${row.path})`, async () => {
          fake.reset();
          fake.reply(row.reply ?? { status: 200, body: {} });
          const value = await row.call(client);
          assert.equal(fake.requests.length, 1, 'exactly one request');
          const request = fake.last();
          assert.equal(request.method, row.method);
          assert.equal(request.path, row.path);
          const sent: Record<string, string | string[]> = {};
          for (const name of new Set(request.query.keys())) {
            const all = request.query.getAll(name);
            sent[name] = all.length === 1 ? all[0]! : all;
          }
          assert.deepEqual(sent, row.query ?? {}, 'query parameters');
          assert.equal(request.query.has('token'), false, 'the token never travels in the URL');
          if (row.body === undefined) {
            assert.equal(request.body.length, 0, 'no body');
          } else if (typeof row.body === 'string' || Buffer.isBuffer(row.body)) {
            assert.deepEqual(request.body, Buffer.from(row.body as string));
            assert.equal(
              request.headers['content-length'],
              String(request.body.length),
              'Content-Length is sent',
            );
          } else {
            assert.deepEqual(JSON.parse(request.body.toString('utf8')), row.body);
          }
          row.result?.(value);
        });
      }
    });
  }

  it('covers every endpoint Consul 1.8.7 serves (consul-endpoints.tsv, in_1_8 = yes)', () => {
    const tsv = readFileSync(new URL(repoPath('test/consul/consul-endpoints.tsv')), 'utf8');
    const served = tsv
      .split('\n')
      .slice(1)
      .map((line) => line.split('\t'))
      .filter((columns) => columns[3] === 'yes')
      .map((columns) => `${columns[1]} ${columns[2]}`);
    const covered = new Set(loaded.flatMap(([, rows]) => rows.map((row) => row.route)));
    const unknown = [...covered].filter((route) => !served.includes(route));
    assert.deepEqual(unknown, [], 'every row names a route of the TSV');
    const missing = served.filter((route) => !covered.has(route));
    assert.deepEqual(missing, PENDING, 'the endpoints not covered yet are exactly the PENDING list');
  });
});

/** Endpoints not implemented yet. Shrinks to [] as groups land; a new row must remove its route here. */
const PENDING: string[] = [
  'PUT /v1/acl/bootstrap',
  'GET /v1/acl/replication',
  'POST /v1/acl/rules/translate',
  'GET /v1/acl/rules/translate/:accessor_id',
  'POST /v1/acl/login',
  'POST /v1/acl/logout',
  'PUT /v1/acl/token',
  'GET /v1/acl/token/:AccessorID',
  'GET /v1/acl/token/self',
  'PUT /v1/acl/token/:AccessorID',
  'PUT /v1/acl/token/:AccessorID/clone',
  'DELETE /v1/acl/token/:AccessorID',
  'GET /v1/acl/tokens',
  'PUT /v1/acl/policy',
  'GET /v1/acl/policy/:id',
  'GET /v1/acl/policy/name/:name',
  'PUT /v1/acl/policy/:id',
  'DELETE /v1/acl/policy/:id',
  'GET /v1/acl/policies',
  'PUT /v1/acl/role',
  'GET /v1/acl/role/:id',
  'GET /v1/acl/role/name/:name',
  'PUT /v1/acl/role/:id',
  'DELETE /v1/acl/role/:id',
  'GET /v1/acl/roles',
  'PUT /v1/acl/auth-method',
  'GET /v1/acl/auth-method/:name',
  'PUT /v1/acl/auth-method/:name',
  'DELETE /v1/acl/auth-method/:name',
  'GET /v1/acl/auth-methods',
  'PUT /v1/acl/binding-rule',
  'GET /v1/acl/binding-rule/:id',
  'PUT /v1/acl/binding-rule/:id',
  'DELETE /v1/acl/binding-rule/:id',
  'GET /v1/acl/binding-rules',
  'PUT /v1/acl/create',
  'PUT /v1/acl/update',
  'PUT /v1/acl/destroy/:uuid',
  'GET /v1/acl/info/:uuid',
  'PUT /v1/acl/clone/:uuid',
  'GET /v1/acl/list',
  'GET /v1/agent/host',
  'GET /v1/agent/members',
  'GET /v1/agent/self',
  'PUT /v1/agent/reload',
  'PUT /v1/agent/maintenance',
  'GET /v1/agent/metrics',
  'GET /v1/agent/monitor',
  'PUT /v1/agent/join/:address',
  'PUT /v1/agent/leave',
  'PUT /v1/agent/force-leave/:node_name',
  'PUT /v1/agent/token/default',
  'PUT /v1/agent/token/agent',
  'PUT /v1/agent/token/agent_master',
  'PUT /v1/agent/token/replication',
  'PUT /v1/agent/token/acl_token',
  'PUT /v1/agent/token/acl_agent_token',
  'PUT /v1/agent/token/acl_agent_master_token',
  'PUT /v1/agent/token/acl_replication_token',
  'GET /v1/agent/checks',
  'PUT /v1/agent/check/register',
  'PUT /v1/agent/check/deregister/:check_id',
  'PUT /v1/agent/check/pass/:check_id',
  'PUT /v1/agent/check/warn/:check_id',
  'PUT /v1/agent/check/fail/:check_id',
  'PUT /v1/agent/check/update/:check_id',
  'GET /v1/agent/services',
  'GET /v1/agent/service/:service_id',
  'GET /v1/agent/health/service/name/:service_name',
  'GET /v1/agent/health/service/id/:service_id',
  'PUT /v1/agent/service/register',
  'PUT /v1/agent/service/deregister/:service_id',
  'PUT /v1/agent/service/maintenance/:service_id',
  'POST /v1/agent/connect/authorize',
  'GET /v1/agent/connect/ca/roots',
  'GET /v1/agent/connect/ca/leaf/:service',
  'PUT /v1/catalog/register',
  'PUT /v1/catalog/deregister',
  'GET /v1/catalog/datacenters',
  'GET /v1/catalog/nodes',
  'GET /v1/catalog/services',
  'GET /v1/catalog/service/:service',
  'GET /v1/catalog/connect/:service',
  'GET /v1/catalog/node/:node',
  'GET /v1/catalog/node-services/:node',
  'GET /v1/catalog/gateway-services/:gateway',
  'PUT /v1/config',
  'GET /v1/config/:kind/:name',
  'GET /v1/config/:kind',
  'DELETE /v1/config/:kind/:name',
  'GET /v1/connect/ca/roots',
  'GET /v1/connect/ca/configuration',
  'PUT /v1/connect/ca/configuration',
  'POST /v1/connect/intentions',
  'PUT /v1/connect/intentions/:uuid',
  'GET /v1/connect/intentions/:uuid',
  'GET /v1/connect/intentions',
  'DELETE /v1/connect/intentions/:uuid',
  'GET /v1/connect/intentions/check',
  'GET /v1/connect/intentions/match',
  'GET /v1/coordinate/datacenters',
  'GET /v1/coordinate/nodes',
  'GET /v1/coordinate/node/:node',
  'PUT /v1/coordinate/update',
  'GET /v1/discovery-chain/:service',
  'POST /v1/discovery-chain/:service',
  'PUT /v1/event/fire/:name',
  'GET /v1/event/list',
  'GET /v1/health/node/:node',
  'GET /v1/health/checks/:service',
  'GET /v1/health/service/:service',
  'GET /v1/health/connect/:service',
  'GET /v1/health/ingress/:service',
  'GET /v1/health/state/:state',
  'GET /v1/kv/:key',
  'PUT /v1/kv/:key',
  'DELETE /v1/kv/:key',
  'GET /v1/operator/raft/configuration',
  'DELETE /v1/operator/raft/peer',
  'GET /v1/operator/autopilot/configuration',
  'PUT /v1/operator/autopilot/configuration',
  'GET /v1/operator/autopilot/health',
  'GET /v1/operator/keyring',
  'POST /v1/operator/keyring',
  'PUT /v1/operator/keyring',
  'DELETE /v1/operator/keyring',
  'POST /v1/query',
  'GET /v1/query',
  'GET /v1/query/:uuid',
  'PUT /v1/query/:uuid',
  'DELETE /v1/query/:uuid',
  'GET /v1/query/:uuid/execute',
  'GET /v1/query/:uuid/explain',
  'PUT /v1/session/create',
  'PUT /v1/session/destroy/:uuid',
  'GET /v1/session/info/:uuid',
  'GET /v1/session/node/:node',
  'GET /v1/session/list',
  'PUT /v1/session/renew/:uuid',
  'GET /v1/snapshot',
  'PUT /v1/snapshot',
  'PUT /v1/txn',
  'GET /v1/internal/ui/nodes',
  'GET /v1/internal/ui/node/:node',
  'GET /v1/internal/ui/services',
  'GET /v1/internal/ui/gateway-services-nodes/:gateway',
  'POST /v1/internal/acl/authorize',
  'GET /v1/internal/federation-states',
  'GET /v1/internal/federation-states/mesh-gateways',
  'GET /v1/internal/federation-state/:datacenter',
];
