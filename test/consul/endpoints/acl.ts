import assert from 'node:assert/strict';
import type { EndpointRow } from './table.js';

const ACCESSOR = '6a1253d2-1785-24fd-91c2-f8e78c745511';
const SECRET = '45a3bd52-07c7-47a4-52fd-0745e0cfe967';
const POLICY_ID = 'e359bd81-baca-903e-7e64-1ccd9fdc78f5';
const ROLE_ID = 'aa770e5b-8b0b-7fcf-e5a1-8535fcc388b4';
const RULE_ID = '000ed53c-e2d3-e7e6-31a5-c19bc729e6b6';

const token = {
  AccessorID: ACCESSOR,
  SecretID: SECRET,
  Description: 'agent token',
  Policies: [{ ID: POLICY_ID, Name: 'node-read' }],
  Local: false,
  CreateTime: '2018-10-24T12:25:06.921933-04:00',
  Hash: 'UuiRkOQPRCvoRZHRtUxxbrmwZ5crYrOdZ0Z1FTFbTbA=',
  CreateIndex: 59,
  ModifyIndex: 59,
};
const policy = {
  ID: POLICY_ID,
  Name: 'node-read',
  Description: 'Grants read access to all node information',
  Rules: 'node_prefix "" { policy = "read" }',
  Datacenters: ['dc1'],
  Hash: 'OtZUUKhInTLEqTPfNSSOYbRiSBKm3c4vI2p6MxZnGWc=',
  CreateIndex: 14,
  ModifyIndex: 14,
};
const { Rules: _rules, ...policyEntry } = policy;
const role = {
  ID: ROLE_ID,
  Name: 'example-role',
  Description: 'Showcases all input parameters',
  Policies: [{ ID: POLICY_ID, Name: 'node-read' }],
  ServiceIdentities: [{ ServiceName: 'web' }],
  Hash: 'mBWMIeX9zyUTdDMq8vWB0iYod+mKBArJoAhj6oPz3BI=',
  CreateIndex: 57,
  ModifyIndex: 57,
};
const authMethod = {
  Name: 'minikube',
  Type: 'kubernetes',
  Description: 'dev minikube cluster',
  Config: { Host: 'https://192.0.2.42:8443', CACert: '-----BEGIN CERTIFICATE-----\n...' },
  CreateIndex: 15,
  ModifyIndex: 15,
};
const bindingRule = {
  ID: RULE_ID,
  Description: 'example rule',
  AuthMethod: 'minikube',
  Selector: 'serviceaccount.namespace==default',
  BindType: 'service',
  BindName: '{{ serviceaccount.name }}',
  CreateIndex: 17,
  ModifyIndex: 17,
};
const legacy = {
  CreateIndex: 3,
  ModifyIndex: 3,
  ID: '8f246b77-f3e1-ff88-5b48-8ec93abf3e05',
  Name: 'Client Token',
  Type: 'client',
  Rules: 'key "" { policy = "read" }',
};

const equals = (expected: unknown) => (value: unknown) => assert.deepEqual(value, expected);
const dataEquals = (expected: unknown) => (value: unknown) =>
  assert.deepEqual((value as { data: unknown }).data, expected);

export const rows: EndpointRow[] = [
  {
    route: 'PUT /v1/acl/bootstrap',
    call: (c) => c.acl.bootstrap(),
    method: 'PUT',
    path: '/v1/acl/bootstrap',
    reply: { body: token },
    result: equals(token),
  },
  {
    route: 'GET /v1/acl/replication',
    call: (c) => c.acl.replication({ dc: 'dc2' }),
    method: 'GET',
    path: '/v1/acl/replication',
    query: { dc: 'dc2' },
    reply: {
      body: {
        Enabled: true,
        Running: true,
        SourceDatacenter: 'dc1',
        ReplicationType: 'tokens',
        ReplicatedIndex: 1976,
        ReplicatedRoleIndex: 1,
        ReplicatedTokenIndex: 2018,
        LastSuccess: '2018-11-03T06:28:58Z',
        LastError: '2016-11-03T06:28:28Z',
      },
    },
    result: (value) => assert.equal((value as { ReplicatedTokenIndex: number }).ReplicatedTokenIndex, 2018),
  },
  {
    route: 'POST /v1/acl/rules/translate',
    call: (c) => c.acl.translateRules('agent "" { policy = "read" }'),
    method: 'POST',
    path: '/v1/acl/rules/translate',
    body: 'agent "" { policy = "read" }',
    reply: { body: 'agent_prefix "" {\n  policy = "read"\n}' },
    result: equals('agent_prefix "" {\n  policy = "read"\n}'),
  },
  {
    route: 'GET /v1/acl/rules/translate/:accessor_id',
    call: (c) => c.acl.translateTokenRules(ACCESSOR),
    method: 'GET',
    path: `/v1/acl/rules/translate/${ACCESSOR}`,
    reply: { body: 'key_prefix "" {\n  policy = "read"\n}' },
    result: equals('key_prefix "" {\n  policy = "read"\n}'),
  },
  {
    route: 'POST /v1/acl/login',
    call: (c) =>
      c.acl.login({ AuthMethod: 'minikube', BearerToken: 'eyJhbGciOi...', Meta: { pod: 'web-1' } }),
    method: 'POST',
    path: '/v1/acl/login',
    body: { AuthMethod: 'minikube', BearerToken: 'eyJhbGciOi...', Meta: { pod: 'web-1' } },
    reply: { body: { ...token, AuthMethod: 'minikube', Local: true } },
    result: (value) => assert.equal((value as { AuthMethod: string }).AuthMethod, 'minikube'),
  },
  {
    route: 'POST /v1/acl/logout',
    call: (c) => c.acl.logout({ token: SECRET }),
    method: 'POST',
    path: '/v1/acl/logout',
    reply: { body: 'true' },
    result: equals(undefined),
  },
  // Tokens
  {
    route: 'PUT /v1/acl/token',
    call: (c) => c.acl.tokens.create({ Description: 'agent token', Policies: [{ Name: 'node-read' }] }),
    method: 'PUT',
    path: '/v1/acl/token',
    body: { Description: 'agent token', Policies: [{ Name: 'node-read' }] },
    reply: { body: token },
    result: equals(token),
  },
  {
    route: 'GET /v1/acl/token/:AccessorID',
    call: (c) => c.acl.tokens.read(ACCESSOR, { stale: true }),
    method: 'GET',
    path: `/v1/acl/token/${ACCESSOR}`,
    query: { stale: '' },
    reply: { body: token, headers: { 'X-Consul-Index': '59' } },
    result: (value) => {
      const { data, meta } = value as { data: unknown; meta: { index: number } };
      assert.deepEqual(data, token);
      assert.equal(meta.index, 59);
    },
  },
  {
    route: 'GET /v1/acl/token/self',
    call: (c) => c.acl.tokens.self({ token: SECRET }),
    method: 'GET',
    path: '/v1/acl/token/self',
    reply: { body: token },
    result: equals(token),
  },
  {
    route: 'PUT /v1/acl/token/:AccessorID',
    call: (c) => c.acl.tokens.update(ACCESSOR, { Description: 'renamed', Policies: [{ ID: POLICY_ID }] }),
    method: 'PUT',
    path: `/v1/acl/token/${ACCESSOR}`,
    body: { Description: 'renamed', Policies: [{ ID: POLICY_ID }] },
    reply: { body: { ...token, Description: 'renamed' } },
    result: (value) => assert.equal((value as { Description: string }).Description, 'renamed'),
  },
  {
    route: 'PUT /v1/acl/token/:AccessorID/clone',
    call: (c) => c.acl.tokens.clone(ACCESSOR, 'clone of agent token'),
    method: 'PUT',
    path: `/v1/acl/token/${ACCESSOR}/clone`,
    body: { Description: 'clone of agent token' },
    reply: { body: { ...token, AccessorID: 'b3a4c5d6-0000-4000-8000-000000000002' } },
    result: (value) =>
      assert.equal((value as { AccessorID: string }).AccessorID, 'b3a4c5d6-0000-4000-8000-000000000002'),
  },
  {
    route: 'DELETE /v1/acl/token/:AccessorID',
    call: (c) => c.acl.tokens.delete(ACCESSOR),
    method: 'DELETE',
    path: `/v1/acl/token/${ACCESSOR}`,
    reply: { body: 'true' },
    result: equals(true),
  },
  {
    route: 'GET /v1/acl/tokens',
    call: (c) => c.acl.tokens.list({ policy: POLICY_ID, role: ROLE_ID, authMethod: 'minikube' }),
    method: 'GET',
    path: '/v1/acl/tokens',
    query: { policy: POLICY_ID, role: ROLE_ID, authmethod: 'minikube' },
    reply: { body: [token] },
    result: dataEquals([token]),
  },
  // Policies
  {
    route: 'PUT /v1/acl/policy',
    call: (c) => c.acl.policies.create({ Name: 'node-read', Rules: policy.Rules, Datacenters: ['dc1'] }),
    method: 'PUT',
    path: '/v1/acl/policy',
    body: { Name: 'node-read', Rules: policy.Rules, Datacenters: ['dc1'] },
    reply: { body: policy },
    result: equals(policy),
  },
  {
    route: 'GET /v1/acl/policy/:id',
    call: (c) => c.acl.policies.read(POLICY_ID),
    method: 'GET',
    path: `/v1/acl/policy/${POLICY_ID}`,
    reply: { body: policy },
    result: dataEquals(policy),
  },
  {
    route: 'GET /v1/acl/policy/name/:name',
    call: (c) => c.acl.policies.readByName('node read/all'),
    method: 'GET',
    path: '/v1/acl/policy/name/node%20read%2Fall',
    reply: { status: 404, body: '' },
    result: dataEquals(null),
  },
  {
    route: 'PUT /v1/acl/policy/:id',
    call: (c) => c.acl.policies.update(POLICY_ID, { ID: POLICY_ID, Name: 'node-read', Rules: policy.Rules }),
    method: 'PUT',
    path: `/v1/acl/policy/${POLICY_ID}`,
    body: { ID: POLICY_ID, Name: 'node-read', Rules: policy.Rules },
    reply: { body: policy },
    result: equals(policy),
  },
  {
    route: 'DELETE /v1/acl/policy/:id',
    call: (c) => c.acl.policies.delete(POLICY_ID),
    method: 'DELETE',
    path: `/v1/acl/policy/${POLICY_ID}`,
    reply: { body: 'true' },
    result: equals(true),
  },
  {
    route: 'GET /v1/acl/policies',
    call: (c) => c.acl.policies.list({ consistent: true }),
    method: 'GET',
    path: '/v1/acl/policies',
    query: { consistent: '' },
    reply: { body: [policyEntry] },
    result: dataEquals([policyEntry]),
  },
  // Roles
  {
    route: 'PUT /v1/acl/role',
    call: (c) =>
      c.acl.roles.create({
        Name: 'example-role',
        Policies: [{ ID: POLICY_ID }],
        ServiceIdentities: [{ ServiceName: 'web' }],
      }),
    method: 'PUT',
    path: '/v1/acl/role',
    body: {
      Name: 'example-role',
      Policies: [{ ID: POLICY_ID }],
      ServiceIdentities: [{ ServiceName: 'web' }],
    },
    reply: { body: role },
    result: equals(role),
  },
  {
    route: 'GET /v1/acl/role/:id',
    call: (c) => c.acl.roles.read(ROLE_ID, { index: 57, wait: '1s' }),
    method: 'GET',
    path: `/v1/acl/role/${ROLE_ID}`,
    query: { index: '57', wait: '1s' },
    reply: { body: role },
    result: dataEquals(role),
  },
  {
    route: 'GET /v1/acl/role/name/:name',
    call: (c) => c.acl.roles.readByName('example-role'),
    method: 'GET',
    path: '/v1/acl/role/name/example-role',
    reply: { body: role },
    result: dataEquals(role),
  },
  {
    route: 'PUT /v1/acl/role/:id',
    call: (c) => c.acl.roles.update(ROLE_ID, { Name: 'example-role', Description: 'updated' }),
    method: 'PUT',
    path: `/v1/acl/role/${ROLE_ID}`,
    body: { Name: 'example-role', Description: 'updated' },
    reply: { body: { ...role, Description: 'updated' } },
    result: (value) => assert.equal((value as { Description: string }).Description, 'updated'),
  },
  {
    route: 'DELETE /v1/acl/role/:id',
    call: (c) => c.acl.roles.delete(ROLE_ID),
    method: 'DELETE',
    path: `/v1/acl/role/${ROLE_ID}`,
    reply: { body: 'true' },
    result: equals(true),
  },
  {
    route: 'GET /v1/acl/roles',
    call: (c) => c.acl.roles.list({ policy: POLICY_ID }),
    method: 'GET',
    path: '/v1/acl/roles',
    query: { policy: POLICY_ID },
    reply: { body: [role] },
    result: dataEquals([role]),
  },
  // Auth methods
  {
    route: 'PUT /v1/acl/auth-method',
    call: (c) =>
      c.acl.authMethods.create({ Name: 'minikube', Type: 'kubernetes', Config: authMethod.Config }),
    method: 'PUT',
    path: '/v1/acl/auth-method',
    body: { Name: 'minikube', Type: 'kubernetes', Config: authMethod.Config },
    reply: { body: authMethod },
    result: equals(authMethod),
  },
  {
    route: 'GET /v1/acl/auth-method/:name',
    call: (c) => c.acl.authMethods.read('minikube'),
    method: 'GET',
    path: '/v1/acl/auth-method/minikube',
    reply: { body: authMethod },
    result: dataEquals(authMethod),
  },
  {
    route: 'PUT /v1/acl/auth-method/:name',
    call: (c) =>
      c.acl.authMethods.update('minikube', { Name: 'minikube', Type: 'kubernetes', Description: 'updated' }),
    method: 'PUT',
    path: '/v1/acl/auth-method/minikube',
    body: { Name: 'minikube', Type: 'kubernetes', Description: 'updated' },
    reply: { body: { ...authMethod, Description: 'updated' } },
    result: (value) => assert.equal((value as { Description: string }).Description, 'updated'),
  },
  {
    route: 'DELETE /v1/acl/auth-method/:name',
    call: (c) => c.acl.authMethods.delete('minikube'),
    method: 'DELETE',
    path: '/v1/acl/auth-method/minikube',
    reply: { body: 'true' },
    result: equals(true),
  },
  {
    route: 'GET /v1/acl/auth-methods',
    call: (c) => c.acl.authMethods.list(),
    method: 'GET',
    path: '/v1/acl/auth-methods',
    reply: { body: [] },
    result: dataEquals([]),
  },
  // Binding rules
  {
    route: 'PUT /v1/acl/binding-rule',
    call: (c) =>
      c.acl.bindingRules.create({
        AuthMethod: 'minikube',
        Selector: bindingRule.Selector,
        BindType: 'service',
        BindName: bindingRule.BindName,
      }),
    method: 'PUT',
    path: '/v1/acl/binding-rule',
    body: {
      AuthMethod: 'minikube',
      Selector: bindingRule.Selector,
      BindType: 'service',
      BindName: bindingRule.BindName,
    },
    reply: { body: bindingRule },
    result: equals(bindingRule),
  },
  {
    route: 'GET /v1/acl/binding-rule/:id',
    call: (c) => c.acl.bindingRules.read(RULE_ID),
    method: 'GET',
    path: `/v1/acl/binding-rule/${RULE_ID}`,
    reply: { status: 404, body: '' },
    result: dataEquals(null),
  },
  {
    route: 'PUT /v1/acl/binding-rule/:id',
    call: (c) =>
      c.acl.bindingRules.update(RULE_ID, { AuthMethod: 'minikube', BindType: 'role', BindName: 'web' }),
    method: 'PUT',
    path: `/v1/acl/binding-rule/${RULE_ID}`,
    body: { AuthMethod: 'minikube', BindType: 'role', BindName: 'web' },
    reply: { body: { ...bindingRule, BindType: 'role', BindName: 'web' } },
    result: (value) => assert.equal((value as { BindType: string }).BindType, 'role'),
  },
  {
    route: 'DELETE /v1/acl/binding-rule/:id',
    call: (c) => c.acl.bindingRules.delete(RULE_ID),
    method: 'DELETE',
    path: `/v1/acl/binding-rule/${RULE_ID}`,
    reply: { body: 'true' },
    result: equals(true),
  },
  {
    route: 'GET /v1/acl/binding-rules',
    call: (c) => c.acl.bindingRules.list({ authMethod: 'minikube' }),
    method: 'GET',
    path: '/v1/acl/binding-rules',
    query: { authmethod: 'minikube' },
    reply: { body: [bindingRule] },
    result: dataEquals([bindingRule]),
  },
  // Legacy
  {
    route: 'PUT /v1/acl/create',
    call: (c) => c.acl.legacy.create({ Name: 'Client Token', Type: 'client', Rules: legacy.Rules }),
    method: 'PUT',
    path: '/v1/acl/create',
    body: { Name: 'Client Token', Type: 'client', Rules: legacy.Rules },
    reply: { body: { ID: legacy.ID } },
    result: equals(legacy.ID),
  },
  {
    route: 'PUT /v1/acl/update',
    call: (c) => c.acl.legacy.update({ ID: legacy.ID, Name: 'Client Token', Type: 'client', Rules: '' }),
    method: 'PUT',
    path: '/v1/acl/update',
    body: { ID: legacy.ID, Name: 'Client Token', Type: 'client', Rules: '' },
    reply: { body: { ID: legacy.ID } },
    result: equals(undefined),
  },
  {
    route: 'PUT /v1/acl/destroy/:uuid',
    call: (c) => c.acl.legacy.destroy(legacy.ID),
    method: 'PUT',
    path: `/v1/acl/destroy/${legacy.ID}`,
    reply: { body: 'true' },
    result: equals(true),
  },
  {
    route: 'GET /v1/acl/info/:uuid',
    call: (c) => c.acl.legacy.info(legacy.ID),
    method: 'GET',
    path: `/v1/acl/info/${legacy.ID}`,
    reply: { body: [legacy] },
    result: dataEquals(legacy),
  },
  {
    route: 'PUT /v1/acl/clone/:uuid',
    call: (c) => c.acl.legacy.clone(legacy.ID, { token: SECRET }),
    method: 'PUT',
    path: `/v1/acl/clone/${legacy.ID}`,
    reply: { body: { ID: '8f246b77-f3e1-ff88-5b48-8ec93abf3e06' } },
    result: equals('8f246b77-f3e1-ff88-5b48-8ec93abf3e06'),
  },
  {
    route: 'GET /v1/acl/list',
    call: (c) => c.acl.legacy.list(),
    method: 'GET',
    path: '/v1/acl/list',
    reply: { body: [legacy] },
    result: dataEquals([legacy]),
  },
];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = [];
