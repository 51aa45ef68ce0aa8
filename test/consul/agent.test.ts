import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Agent as UndiciAgent } from 'undici';
import { ConsulClient, isConsulError } from '@polykv/consul';
import { eventually } from '../helpers/eventually.js';
import { stopAllServers, waitUntil } from '../helpers/processes.js';
import { startConsulDev, type ConsulAgent } from '../helpers/servers.js';
import { AGENT_TOKEN_TYPES } from './endpoints/agent.js';
import { rejectsWith, useAclFixture } from './fixture.js';

after(stopAllServers);

describe('Consul agent endpoints against a real 1.8.7 agent', { timeout: 180_000 }, () => {
  let agent: ConsulAgent;
  let consul: ConsulClient;
  let deniedToken: string;
  useAclFixture((fixture) => ({ agent, consul, noRightsToken: deniedToken } = fixture));

  it('self, members, host, metrics (JSON and Prometheus)', async () => {
    const self = await consul.agent.self();
    assert.match(self.Config.Version, /^1\.8\.7/);
    assert.equal(self.Config.Datacenter, 'dc1');
    assert.equal(self.Config.Server, true);
    const members = await consul.agent.members();
    assert.deepEqual(
      members.map((m) => [m.Name, m.Status]),
      [[self.Config.NodeName, 1]],
    );
    const wan = await consul.agent.members({ wan: true });
    assert.deepEqual(
      wan.map((m) => m.Name),
      [`${self.Config.NodeName}.dc1`],
    );
    const host = await consul.agent.host();
    assert.equal(typeof host.Memory.total, 'number');
    assert.ok(Array.isArray(host.CPU));
    const metrics = await consul.agent.metrics();
    assert.ok(Array.isArray(metrics.Gauges) && typeof metrics.Timestamp === 'string');
    // Prometheus text needs `telemetry { prometheus_retention_time }`, which the test agent lacks.
    const prometheus = await rejectsWith(consul.agent.metricsPrometheus(), 'CONSUL_HTTP_STATUS', 415);
    assert.match(prometheus.body ?? '', /Prometheus is not enabled/);
  });

  it('a token without policies is denied', async () => {
    const error = await rejectsWith(
      consul.agent.self({ token: deniedToken }),
      'CONSUL_PERMISSION_DENIED',
      403,
    );
    assert.equal(error.path, '/v1/agent/self');
    assert.ok(!error.message.includes(deniedToken), 'the token never appears in an error');
    await rejectsWith(
      consul.agent.checks.register({ Name: 'x', TTL: '10s' }, { token: deniedToken }),
      'CONSUL_PERMISSION_DENIED',
      403,
    );
    await rejectsWith(
      consul.agent.updateToken('default', agent.token!, { token: deniedToken }),
      'CONSUL_PERMISSION_DENIED',
      403,
    );
    await rejectsWith(consul.agent.leave({ token: deniedToken }), 'CONSUL_PERMISSION_DENIED', 403);
    // Listings are filtered, not refused.
    assert.deepEqual(await consul.agent.services.list({ token: deniedToken }), {});
  });

  it('join and force-leave of unknown peers fail with 500 and the agent text', async () => {
    const join = await rejectsWith(consul.agent.join('127.0.0.1:1'), 'CONSUL_HTTP_STATUS', 500);
    assert.match(join.body ?? '', /Failed to join/);
    assert.equal(join.path, '/v1/agent/join/127.0.0.1%3A1');
    const forceLeave = await rejectsWith(
      consul.agent.forceLeave('no-such-node', { prune: true }),
      'CONSUL_HTTP_STATUS',
      500,
    );
    assert.match(forceLeave.body ?? '', /No node found/);
  });

  it('updates each agent token type', async () => {
    // The agent token stays the master token (anti-entropy needs it); the agent-master token must not
    // be the master token (the agent would resolve it to its limited agent-master rights first);
    // the default token becomes the anonymous one, which is what it means without one.
    const values: Record<(typeof AGENT_TOKEN_TYPES)[number], string> = {
      default: 'anonymous',
      acl_token: 'anonymous',
      agent: agent.token!,
      acl_agent_token: agent.token!,
      agent_master: randomUUID(),
      acl_agent_master_token: randomUUID(),
      replication: randomUUID(),
      acl_replication_token: randomUUID(),
    };
    for (const type of AGENT_TOKEN_TYPES) await consul.agent.updateToken(type, values[type]);
    // The agent-master token now works for agent reads, and only as such.
    const agentMaster = new ConsulClient({ address: agent.address, token: values.acl_agent_master_token });
    try {
      assert.equal((await agentMaster.agent.self()).Config.Datacenter, 'dc1');
      await rejectsWith(agentMaster.acl.tokens.list(), 'CONSUL_PERMISSION_DENIED', 403);
    } finally {
      await agentMaster.close();
    }
    assert.equal((await consul.agent.members()).length, 1);
  });

  it('node maintenance adds and removes the _node_maintenance check', async () => {
    await consul.agent.maintenance(true, 'patching');
    const on = await consul.agent.checks.list();
    assert.equal(on._node_maintenance?.Status, 'critical');
    assert.equal(on._node_maintenance?.Notes, 'patching');
    await consul.agent.maintenance(false);
    assert.equal((await consul.agent.checks.list())._node_maintenance, undefined);
  });

  it('checks: register → list → pass/warn/fail/update → deregister', async () => {
    await consul.agent.checks.register({ ID: 'mem', Name: 'Memory', TTL: '5m', Notes: 'ttl check' });
    const listed = await consul.agent.checks.list({ filter: 'CheckID == mem' });
    assert.deepEqual(Object.keys(listed), ['mem']);
    assert.equal(listed.mem?.Status, 'critical', 'a new TTL check starts critical');
    assert.equal(listed.mem?.Type, 'ttl');

    const state = async () => {
      const check = (await consul.agent.checks.list()).mem;
      return [check?.Status, check?.Output];
    };
    await consul.agent.checks.pass('mem', 'all good');
    assert.deepEqual(await state(), ['passing', 'all good']);
    await consul.agent.checks.warn('mem', '80% used');
    assert.deepEqual(await state(), ['warning', '80% used']);
    await consul.agent.checks.fail('mem');
    assert.deepEqual(await state(), ['critical', '']);
    await consul.agent.checks.update('mem', { Status: 'passing', Output: '10% used' });
    assert.deepEqual(await state(), ['passing', '10% used']);

    await consul.agent.checks.deregister('mem');
    assert.equal((await consul.agent.checks.list()).mem, undefined);
    const unknown = await rejectsWith(consul.agent.checks.deregister('mem'), 'CONSUL_HTTP_STATUS', 500);
    assert.match(unknown.body ?? '', /Unknown check/);
    await rejectsWith(consul.agent.checks.register({ Name: '' }), 'CONSUL_HTTP_STATUS', 400);
  });

  it('services: register → list → get (hash blocking) → health by id and name → maintenance → deregister', async () => {
    await consul.agent.services.register({
      ID: 'web-1',
      Name: 'web',
      Tags: ['v1'],
      Port: 8080,
      Meta: { team: 'edge' },
      Check: { CheckID: 'web-1-ttl', Name: 'web ttl', TTL: '5m' },
    });
    const services = await consul.agent.services.list();
    assert.deepEqual(services['web-1']?.Tags, ['v1']);
    assert.equal(services['web-1']?.Port, 8080);
    assert.deepEqual(Object.keys(await consul.agent.services.list({ filter: 'Service == nope' })), []);

    const first = await consul.agent.services.get('web-1');
    assert.equal(first.data?.Service, 'web');
    const hash = first.meta.contentHash;
    assert.ok(hash, 'X-Consul-ContentHash');
    assert.equal(first.data?.ContentHash, hash);
    // A hash-blocking get returns once the service changes (whether or not it was already waiting).
    const blocked = consul.agent.services.get('web-1', { hash, wait: '30s' });
    await consul.agent.services.register({
      ID: 'web-1',
      Name: 'web',
      Tags: ['v2'],
      Port: 8080,
      Check: { CheckID: 'web-1-ttl', Name: 'web ttl', TTL: '5m' },
    });
    const changed = await blocked;
    assert.deepEqual(changed.data?.Tags, ['v2']);
    assert.notEqual(changed.meta.contentHash, hash);
    assert.equal((await consul.agent.services.get('nope')).data, null);

    // Health: the status code carries the aggregate; the client resolves it for 200, 429 and 503.
    const byId = await consul.agent.services.healthById('web-1');
    assert.equal(byId?.status, 'critical');
    assert.equal(byId?.data.Service.ID, 'web-1');
    assert.deepEqual(
      byId?.data.Checks?.map((c) => c.CheckID),
      ['web-1-ttl'],
    );
    await consul.agent.checks.warn('web-1-ttl');
    assert.equal((await consul.agent.services.healthById('web-1'))?.status, 'warning');
    await consul.agent.checks.pass('web-1-ttl');
    const byName = await consul.agent.services.healthByName('web');
    assert.equal(byName?.status, 'passing');
    assert.deepEqual(
      byName?.data.map((entry) => [entry.Service.ID, entry.AggregatedStatus]),
      [['web-1', 'passing']],
    );
    assert.equal(await consul.agent.services.healthById('nope'), null);
    assert.equal(await consul.agent.services.healthByName('nope'), null);

    await consul.agent.services.maintenance('web-1', true, 'deploying');
    const maintenance = await consul.agent.services.healthById('web-1');
    assert.equal(maintenance?.status, 'maintenance');
    assert.ok(maintenance?.data.Checks?.some((c) => c.CheckID === '_service_maintenance:web-1'));
    assert.equal((await consul.agent.services.healthByName('web'))?.status, 'maintenance');
    await consul.agent.services.maintenance('web-1', false);
    assert.equal((await consul.agent.services.healthById('web-1'))?.status, 'passing');

    // replace-existing-checks drops the checks the new definition lacks.
    await consul.agent.services.register(
      { ID: 'web-1', Name: 'web', Port: 8080 },
      { replaceExistingChecks: true },
    );
    assert.equal((await consul.agent.checks.list())['web-1-ttl'], undefined);

    await consul.agent.services.deregister('web-1');
    assert.equal((await consul.agent.services.get('web-1')).data, null);
    const unknown = await rejectsWith(consul.agent.services.deregister('web-1'), 'CONSUL_HTTP_STATUS', 500);
    assert.match(unknown.body ?? '', /Unknown service/);
    await rejectsWith(consul.agent.services.register({ Name: '' }), 'CONSUL_HTTP_STATUS', 400);
  });

  it('connect: CA roots, a leaf certificate, and authorize against intentions', async () => {
    const roots = await consul.agent.connect.caRoots();
    assert.ok(roots.data.ActiveRootID);
    const active = roots.data.Roots.find((root) => root.Active);
    assert.equal(active?.ID, roots.data.ActiveRootID);
    assert.match(active?.RootCert ?? '', /BEGIN CERTIFICATE/);
    assert.ok(typeof roots.meta.index === 'number' && roots.meta.index > 0);

    const leaf = await consul.agent.connect.leafCert('web');
    assert.equal(leaf.data.Service, 'web');
    assert.match(leaf.data.CertPEM, /BEGIN CERTIFICATE/);
    assert.match(leaf.data.PrivateKeyPEM, /PRIVATE KEY/);
    assert.ok(leaf.data.ServiceURI.endsWith('/svc/web'));

    const params = {
      Target: 'db',
      ClientCertURI: leaf.data.ServiceURI,
      ClientCertSerial: leaf.data.SerialNumber,
    };
    const before = await consul.agent.connect.authorize(params);
    assert.equal(before.Authorized, false, 'default deny');
    // The intention itself goes through the raw request path (the connect group is not under test here).
    await consul.request({
      method: 'POST',
      path: '/v1/connect/intentions',
      body: { SourceName: 'web', DestinationName: 'db', Action: 'allow' },
    });
    // The agent answers authorize from its cache of intentions, which a background blocking query
    // refreshes: a new intention reaches it a moment after the write (seen once in a full run).
    let allowed = await consul.agent.connect.authorize(params);
    await eventually(
      async () => (allowed = await consul.agent.connect.authorize(params)).Authorized,
      'the agent to authorize against the new intention',
      { ms: 10_000 },
    );
    assert.match(allowed.Reason, /Matched intention/);
  });

  it('monitor streams log lines until the signal aborts, and frees its connection', async () => {
    // One connection only: if the aborted stream kept its socket, the next call would queue forever.
    const dispatcher = new UndiciAgent({ connections: 1 });
    const client = new ConsulClient({ address: agent.address, token: agent.token, dispatcher });
    try {
      const controller = new AbortController();
      const lines: string[] = [];
      const reading = (async () => {
        for await (const line of client.agent.monitor({ logLevel: 'info', signal: controller.signal })) {
          lines.push(line);
        }
      })();
      let round = 0;
      await waitUntil(
        async () => {
          // Each registration logs "Synced service" once the stream is attached.
          await consul.agent.services.register({ ID: `monitor-${++round}`, Name: 'monitor' });
          return lines.some((line) => line.includes('Synced service'));
        },
        30_000,
        () => `a "Synced service" line in the monitor stream (got ${lines.length} lines)`,
      );
      controller.abort();
      await reading; // ends quietly on abort
      assert.ok(lines.every((line) => !line.includes('\n')));
      const self = await client.agent.self({ timeout: 5000 });
      assert.equal(self.Config.Datacenter, 'dc1');

      // Logs in JSON.
      const json = new AbortController();
      let parsed: Record<string, unknown> | undefined;
      const readingJson = (async () => {
        for await (const line of client.agent.monitor({ logJson: true, signal: json.signal })) {
          parsed = JSON.parse(line) as Record<string, unknown>;
          json.abort();
        }
      })();
      await waitUntil(
        async () => {
          await consul.agent.services.register({ ID: `monitor-${++round}`, Name: 'monitor' });
          return parsed !== undefined;
        },
        30_000,
        () => 'a JSON log line',
      );
      await readingJson;
      assert.equal(typeof parsed?.['@message'], 'string');
      for (let i = 1; i <= round; i++) await consul.agent.services.deregister(`monitor-${i}`);
    } finally {
      await client.close();
      await dispatcher.close();
    }
  });

  // Last on this agent: a -dev agent without a data dir forgets API-registered services on reload.
  it('reload drops the services and checks registered through the API on a -dev agent', async () => {
    await consul.agent.services.register({ ID: 'reload-me', Name: 'reload-me' });
    await consul.agent.checks.register({ ID: 'reload-check', Name: 'reload', TTL: '5m' });
    await consul.agent.reload();
    assert.equal((await consul.agent.services.get('reload-me')).data, null);
    assert.equal((await consul.agent.checks.list())['reload-check'], undefined);
  });
});

describe('agent leave on its own agent', { timeout: 120_000 }, () => {
  it('leave shuts the agent down gracefully', async () => {
    const doomed = await startConsulDev({ acl: true });
    const client = new ConsulClient({ address: doomed.address, token: doomed.token });
    try {
      // A lone dev server takes ~10 s to leave, and may shut its HTTP server down before it
      // answers: both a 200 and a connection closed mid-request mean it left.
      try {
        await client.agent.leave({ timeout: 60_000 });
      } catch (error) {
        assert.ok(isConsulError(error) && error.code === 'CONSUL_UNAVAILABLE', String(error));
      }
      await waitUntil(
        async () => !doomed.running,
        60_000,
        () => 'the agent to exit after leave',
      );
      await rejectsWith(client.agent.self({ timeout: 2000 }), 'CONSUL_UNAVAILABLE');
    } finally {
      await client.close();
    }
  });
});
