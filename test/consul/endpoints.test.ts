import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ConsulClient } from '@polykv/consul';
import type { FakeServer } from '../helpers/fake-server.js';
import { useFakeAgent } from './fixture.js';
import { repoPath } from '../helpers/processes.js';
import { groups } from './endpoints/index.js';
import type { EndpointRow } from './endpoints/table.js';

// One row per endpoint: the exact method, path, query and body each call sends, against a
// recording server. Behaviour is tested against the real agent elsewhere; this pins the wire shape.
const modules = await Promise.all(
  Object.entries(groups).map(async ([name, load]) => ({ name, ...(await load()) })),
);
const loaded: [string, EndpointRow[]][] = modules.map((module) => [module.name, module.rows]);
/** Routes not implemented yet, per group: shrinks to [] as groups land. */
const PENDING = modules.flatMap((module) => module.pending);

describe('Consul endpoint table', () => {
  let fake: FakeServer;
  let client: ConsulClient;
  useFakeAgent((server, made) => ([fake, client] = [server, made]));

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
    assert.deepEqual(
      missing.sort(),
      [...PENDING].sort(),
      'the endpoints not covered yet are exactly the groups pending lists',
    );
  });
});
