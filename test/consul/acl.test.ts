import assert from 'node:assert/strict';
import { createSign, generateKeyPairSync, randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { ConsulClient } from '@polykv/consul';
import { stopAllServers, waitUntil } from '../helpers/processes.js';
import { rejectsWith, useAclFixture } from './fixture.js';

after(stopAllServers);

/** A compact RS256 JWT, signed with `key`. */
function signJwt(claims: Record<string, unknown>, key: string): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'RS256', typ: 'JWT' })}.${encode(claims)}`;
  const signature = createSign('RSA-SHA256').update(unsigned).sign(key).toString('base64url');
  return `${unsigned}.${signature}`;
}

describe('Consul ACL endpoints against a real 1.8.7 agent', { timeout: 120_000 }, () => {
  let consul: ConsulClient;
  useAclFixture((fixture) => ({ consul } = fixture));

  /** Reads a KV key as `token` through the raw request path (the KV group is not under test here). */
  const readKey = (key: string, token: string) =>
    consul.request({ method: 'GET', path: `/v1/kv/${key}`, options: { token }, nullOn404: true });

  it('bootstrap is refused once a master token is configured; replication is off on a primary', async () => {
    const error = await rejectsWith(consul.acl.bootstrap(), 'CONSUL_PERMISSION_DENIED', 403);
    assert.match(error.body ?? '', /bootstrap no longer allowed/);
    const replication = await consul.acl.replication();
    assert.equal(replication.Enabled, false);
    assert.equal(replication.Running, false);
  });

  it('policy → role → token lifecycle: create, read, list, self, clone, update, delete', async () => {
    // Policy
    const policy = await consul.acl.policies.create({
      Name: 'app-read',
      Description: 'read app/',
      Rules: 'key_prefix "app/" { policy = "read" }',
    });
    assert.match(policy.ID, /^[0-9a-f-]{36}$/);
    assert.equal((await consul.acl.policies.read(policy.ID)).data?.Name, 'app-read');
    const byName = await consul.acl.policies.readByName('app-read');
    assert.equal(byName.data?.ID, policy.ID);
    assert.ok(typeof byName.meta.index === 'number' && byName.meta.index > 0, 'reads carry X-Consul-Index');
    const policies = await consul.acl.policies.list();
    assert.ok(policies.data.some((p) => p.ID === policy.ID));
    const updatedPolicy = await consul.acl.policies.update(policy.ID, {
      Name: 'app-read',
      Rules: 'key_prefix "app/" { policy = "read" }\nkey_prefix "shared/" { policy = "read" }',
    });
    assert.match(updatedPolicy.Rules, /shared/);
    assert.ok(updatedPolicy.ModifyIndex > policy.ModifyIndex);

    // Role linking the policy
    const role = await consul.acl.roles.create({ Name: 'app-reader', Policies: [{ ID: policy.ID }] });
    assert.deepEqual(role.Policies, [{ ID: policy.ID, Name: 'app-read' }]);
    assert.equal((await consul.acl.roles.read(role.ID)).data?.Name, 'app-reader');
    assert.equal((await consul.acl.roles.readByName('app-reader')).data?.ID, role.ID);
    assert.deepEqual(
      (await consul.acl.roles.list({ policy: policy.ID })).data.map((r) => r.ID),
      [role.ID],
    );
    const updatedRole = await consul.acl.roles.update(role.ID, {
      Name: 'app-reader',
      Description: 'reads app/ and shared/',
      Policies: [{ Name: 'app-read' }],
    });
    assert.equal(updatedRole.Description, 'reads app/ and shared/');

    // Token with the role and a caller-chosen (UUID) secret
    const secret = randomUUID();
    const token = await consul.acl.tokens.create({
      Description: 'app token',
      Roles: [{ ID: role.ID }],
      SecretID: secret,
    });
    assert.equal(token.SecretID, secret);
    assert.deepEqual(token.Roles, [{ ID: role.ID, Name: 'app-reader' }]);
    const read = await consul.acl.tokens.read(token.AccessorID);
    assert.equal(read.data?.Description, 'app token');
    const self = await consul.acl.tokens.self({ token: secret });
    assert.equal(self.AccessorID, token.AccessorID);
    const byRole = await consul.acl.tokens.list({ role: role.ID });
    assert.deepEqual(
      byRole.data.map((t) => t.AccessorID),
      [token.AccessorID],
    );
    // The token works through the role: read app/ (absent → null), write denied.
    assert.equal((await readKey('app/missing', secret)).data, null);
    await rejectsWith(readKey('other/key', secret), 'CONSUL_PERMISSION_DENIED', 403);

    const clone = await consul.acl.tokens.clone(token.AccessorID, 'cloned app token');
    assert.notEqual(clone.AccessorID, token.AccessorID);
    assert.notEqual(clone.SecretID, secret);
    assert.equal(clone.Description, 'cloned app token');
    assert.deepEqual(clone.Roles, token.Roles);

    const updated = await consul.acl.tokens.update(token.AccessorID, {
      Description: 'app token, direct policy',
      Policies: [{ ID: policy.ID }],
    });
    assert.equal(updated.Description, 'app token, direct policy');
    assert.equal(updated.SecretID, secret);
    assert.equal(updated.Roles, undefined, 'an update replaces the links');

    // Deletes answer true, also for what is already gone.
    for (const id of [token.AccessorID, clone.AccessorID])
      assert.equal(await consul.acl.tokens.delete(id), true);
    assert.equal(await consul.acl.tokens.delete(token.AccessorID), true);
    assert.equal(await consul.acl.roles.delete(role.ID), true);
    assert.equal(await consul.acl.roles.delete(role.ID), true);
    assert.equal(await consul.acl.policies.delete(policy.ID), true);
    assert.equal(await consul.acl.policies.delete(policy.ID), true);

    // Missing objects: 1.8.7 answers a missing role with 404 (→ null), but a missing token or
    // policy with 403 "ACL not found".
    assert.equal((await consul.acl.roles.read(role.ID)).data, null);
    assert.equal((await consul.acl.roles.readByName('app-reader')).data, null);
    const gone = await rejectsWith(consul.acl.tokens.read(token.AccessorID), 'CONSUL_PERMISSION_DENIED', 403);
    assert.match(gone.body ?? '', /ACL not found/);
    await rejectsWith(consul.acl.policies.read(policy.ID), 'CONSUL_PERMISSION_DENIED', 403);
    await rejectsWith(consul.acl.policies.readByName('app-read'), 'CONSUL_PERMISSION_DENIED', 403);
    // A deleted secret no longer authenticates.
    await rejectsWith(consul.acl.tokens.self({ token: secret }), 'CONSUL_PERMISSION_DENIED', 403);
  });

  it('validation errors are 500 with plain text; a token without policies is denied', async () => {
    const badSecret = await rejectsWith(
      consul.acl.tokens.create({ SecretID: 'not-a-uuid' }),
      'CONSUL_HTTP_STATUS',
      500,
    );
    assert.match(badSecret.body ?? '', /SecretID is not a valid UUID/);
    const noName = await rejectsWith(consul.acl.policies.create({ Name: '' }), 'CONSUL_HTTP_STATUS', 500);
    assert.match(noName.body ?? '', /no Name is set/);

    const denied = await consul.acl.tokens.create({ Description: 'no policies' });
    const error = await rejectsWith(
      consul.acl.tokens.list({ token: denied.SecretID }),
      'CONSUL_PERMISSION_DENIED',
      403,
    );
    assert.equal(error.method, 'GET');
    assert.equal(error.path, '/v1/acl/tokens');
    assert.ok(!error.message.includes(denied.SecretID), 'the token never appears in an error');
    await rejectsWith(
      consul.acl.policies.create({ Name: 'x' }, { token: denied.SecretID }),
      'CONSUL_PERMISSION_DENIED',
      403,
    );
    // Its own token is readable by the token itself.
    assert.equal((await consul.acl.tokens.self({ token: denied.SecretID })).AccessorID, denied.AccessorID);
    assert.equal(await consul.acl.tokens.delete(denied.AccessorID), true);
  });

  it('jwt auth method + binding rule: login gives a service-identity token, logout deletes it', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const method = await consul.acl.authMethods.create({
      Name: 'test-jwt',
      Type: 'jwt',
      Description: 'static key',
      MaxTokenTTL: '10m',
      Config: {
        JWTValidationPubKeys: [pem],
        BoundAudiences: ['polykv'],
        ClaimMappings: { service: 'service' },
      },
    });
    assert.equal(method.Type, 'jwt');
    assert.equal((await consul.acl.authMethods.read('test-jwt')).data?.Description, 'static key');
    assert.deepEqual(
      (await consul.acl.authMethods.list()).data.map((m) => m.Name),
      ['test-jwt'],
    );
    const renamed = await consul.acl.authMethods.update('test-jwt', {
      Name: 'test-jwt',
      Type: 'jwt',
      Description: 'static key, updated',
      MaxTokenTTL: '10m',
      Config: method.Config!,
    });
    assert.equal(renamed.Description, 'static key, updated');

    const rule = await consul.acl.bindingRules.create({
      AuthMethod: 'test-jwt',
      Selector: 'value.service == web',
      BindType: 'service',
      BindName: '${value.service}',
    });
    assert.equal((await consul.acl.bindingRules.read(rule.ID)).data?.BindName, '${value.service}');
    assert.deepEqual(
      (await consul.acl.bindingRules.list({ authMethod: 'test-jwt' })).data.map((r) => r.ID),
      [rule.ID],
    );
    const updatedRule = await consul.acl.bindingRules.update(rule.ID, {
      AuthMethod: 'test-jwt',
      Description: 'web services',
      Selector: 'value.service == web',
      BindType: 'service',
      BindName: '${value.service}',
    });
    assert.equal(updatedRule.Description, 'web services');

    const now = Math.floor(Date.now() / 1000);
    const jwt = signJwt(
      { sub: 'web-1', aud: 'polykv', service: 'web', iat: now - 5, nbf: now - 5, exp: now + 300 },
      privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    );
    const login = await consul.acl.login({
      AuthMethod: 'test-jwt',
      BearerToken: jwt,
      Meta: { pod: 'web-1' },
    });
    assert.equal(login.AuthMethod, 'test-jwt');
    assert.equal(login.Local, true);
    assert.deepEqual(login.ServiceIdentities, [{ ServiceName: 'web' }]);
    const self = await consul.acl.tokens.self({ token: login.SecretID });
    assert.equal(self.AccessorID, login.AccessorID);
    assert.deepEqual(
      (await consul.acl.tokens.list({ authMethod: 'test-jwt' })).data.map((t) => t.AccessorID),
      [login.AccessorID],
    );

    // A token that login did not create cannot log out.
    await rejectsWith(consul.acl.logout(), 'CONSUL_PERMISSION_DENIED', 403);
    await consul.acl.logout({ token: login.SecretID });
    await rejectsWith(consul.acl.tokens.self({ token: login.SecretID }), 'CONSUL_PERMISSION_DENIED', 403);

    // A bad signature and an unknown method are refused.
    await rejectsWith(
      consul.acl.login({ AuthMethod: 'test-jwt', BearerToken: `${jwt.slice(0, -4)}AAAA` }),
      'CONSUL_HTTP_STATUS',
    );
    const unknown = await rejectsWith(
      consul.acl.login({ AuthMethod: 'no-such-method', BearerToken: jwt }),
      'CONSUL_PERMISSION_DENIED',
      403,
    );
    assert.match(unknown.body ?? '', /ACL not found/);

    assert.equal(await consul.acl.bindingRules.delete(rule.ID), true);
    assert.equal((await consul.acl.bindingRules.read(rule.ID)).data, null);
    assert.equal(await consul.acl.authMethods.delete('test-jwt'), true);
    assert.equal(await consul.acl.authMethods.delete('test-jwt'), true);
    assert.equal((await consul.acl.authMethods.read('test-jwt')).data, null);
    const missingMethod = await rejectsWith(
      consul.acl.bindingRules.create({ AuthMethod: 'test-jwt', BindType: 'service', BindName: 'x' }),
      'CONSUL_HTTP_STATUS',
      500,
    );
    assert.match(missingMethod.body ?? '', /cannot find auth method/);
  });

  it('rules translate: legacy syntax to the new one, for text and for a legacy token', async () => {
    const text = await consul.acl.translateRules('key "app/" { policy = "write" }');
    assert.match(text, /key_prefix "app\/" \{\s*policy = "write"\s*\}/);
    // The master token has no legacy rules: 500 with an explanation.
    const master = await consul.acl.tokens.self();
    const error = await rejectsWith(
      consul.acl.translateTokenRules(master.AccessorID),
      'CONSUL_HTTP_STATUS',
      500,
    );
    assert.match(error.body ?? '', /does not have any rules/);
  });

  it('legacy tokens: create, info, list, update, clone, translate, destroy', async () => {
    const id = await consul.acl.legacy.create({
      Name: 'legacy',
      Type: 'client',
      Rules: 'key "legacy/" { policy = "read" }',
    });
    const info = await consul.acl.legacy.info(id);
    assert.equal(info.data?.Name, 'legacy');
    assert.equal(info.data?.Type, 'client');
    assert.ok((await consul.acl.legacy.list()).data.some((t) => t.ID === id));
    await consul.acl.legacy.update({
      ID: id,
      Name: 'legacy-2',
      Type: 'client',
      Rules: 'key "legacy/" { policy = "write" }',
    });
    assert.equal((await consul.acl.legacy.info(id)).data?.Name, 'legacy-2');
    const copy = await consul.acl.legacy.clone(id);
    assert.notEqual(copy, id);
    assert.equal((await consul.acl.legacy.info(copy)).data?.Name, 'legacy-2');

    // The leader upgrades legacy tokens in the background, giving them an AccessorID; then the
    // token's rules translate.
    let accessor = '';
    await waitUntil(
      async () => {
        accessor = (await consul.acl.tokens.self({ token: id })).AccessorID;
        return accessor !== '';
      },
      30_000,
      () => 'the legacy token to get an AccessorID',
    );
    assert.match(await consul.acl.translateTokenRules(accessor), /key_prefix "legacy\/"/);

    for (const secret of [id, copy]) assert.equal(await consul.acl.legacy.destroy(secret), true);
    assert.equal(await consul.acl.legacy.destroy(id), true);
    assert.equal((await consul.acl.legacy.info(id)).data, null);
  });
});
