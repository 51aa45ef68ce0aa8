import assert from 'node:assert/strict';
import { kvText, type ConsulResult, type KvPair } from '@polykv/consul';
import type { EndpointRow } from './table.js';

const pair = {
  LockIndex: 1,
  Key: 'app/a b',
  Flags: 18446744073709551615n,
  Value: 'aGVsbG8=',
  Session: 'adf4238a-882b-9ddc-4a9d-5b6758e4159e',
  CreateIndex: 10,
  ModifyIndex: 12,
};
// Consul writes uint64 Flags as bare digits, which JSON.stringify cannot do with a bigint.
const pairJson = JSON.stringify([{ ...pair, Flags: 0 }]).replace('"Flags":0', '"Flags":18446744073709551615');

export const rows: EndpointRow[] = [
  {
    route: 'GET /v1/kv/:key',
    call: (c) => c.kv.get('app/a b', { dc: 'dc2', consistent: true, index: 5, wait: '10s', token: 't' }),
    method: 'GET',
    path: '/v1/kv/app/a%20b',
    query: { dc: 'dc2', consistent: '', index: '5', wait: '10s' },
    reply: { body: pairJson, headers: { 'x-consul-index': '12' } },
    result: (value) => {
      const { data, meta } = value as ConsulResult<KvPair | null>;
      assert.equal(data?.Flags, 18446744073709551615n, 'Flags are exact');
      assert.deepEqual(data?.Value, new TextEncoder().encode('hello'));
      assert.equal(kvText(data), 'hello');
      assert.equal(data?.LockIndex, 1);
      assert.equal(meta.index, 12);
    },
  },
  {
    route: 'GET /v1/kv/:key',
    call: (c) => c.kv.get('missing'),
    method: 'GET',
    path: '/v1/kv/missing',
    reply: { status: 404, body: '', headers: { 'x-consul-index': '7' } },
    result: (value) => {
      const { data, meta } = value as ConsulResult<KvPair | null>;
      assert.equal(data, null);
      assert.equal(meta.index, 7);
    },
  },
  {
    route: 'GET /v1/kv/:key',
    call: (c) => c.kv.list('app/', { stale: true }),
    method: 'GET',
    path: '/v1/kv/app/',
    query: { recurse: '', stale: '' },
    reply: { body: [{ ...pair, Flags: 0, Value: null }] },
    result: (value) => {
      const { data } = value as ConsulResult<KvPair[]>;
      assert.equal(data.length, 1);
      assert.equal(data[0]!.Value, null);
      assert.equal(data[0]!.Flags, 0n);
    },
  },
  {
    route: 'GET /v1/kv/:key',
    call: (c) => c.kv.list('nothing/'),
    method: 'GET',
    path: '/v1/kv/nothing/',
    query: { recurse: '' },
    reply: { status: 404, body: '' },
    result: (value) => assert.deepEqual((value as ConsulResult<KvPair[]>).data, []),
  },
  {
    route: 'GET /v1/kv/:key',
    call: (c) => c.kv.keys('app/', { separator: '/' }),
    method: 'GET',
    path: '/v1/kv/app/',
    query: { keys: '', separator: '/' },
    reply: { body: ['app/a', 'app/dir/'] },
    result: (value) => assert.deepEqual((value as ConsulResult<string[]>).data, ['app/a', 'app/dir/']),
  },
  {
    route: 'GET /v1/kv/:key',
    call: (c) => c.kv.getRaw('bin'),
    method: 'GET',
    path: '/v1/kv/bin',
    query: { raw: '' },
    reply: { body: Buffer.from([0, 1, 255, 65]) },
    result: (value) =>
      assert.deepEqual((value as ConsulResult<Uint8Array>).data, new Uint8Array([0, 1, 255, 65])),
  },
  {
    route: 'PUT /v1/kv/:key',
    call: (c) => c.kv.put('app/x', 'hello', { flags: 18446744073709551615n, cas: 0 }),
    method: 'PUT',
    path: '/v1/kv/app/x',
    query: { flags: '18446744073709551615', cas: '0' },
    body: 'hello',
    reply: { body: 'false' },
    result: (value) => assert.equal(value, false),
  },
  {
    route: 'PUT /v1/kv/:key',
    call: (c) => c.kv.acquire('lock', 'sess-1', new Uint8Array([1, 2])),
    method: 'PUT',
    path: '/v1/kv/lock',
    query: { acquire: 'sess-1' },
    body: Buffer.from([1, 2]),
    reply: { body: 'true' },
    result: (value) => assert.equal(value, true),
  },
  {
    route: 'PUT /v1/kv/:key',
    call: (c) => c.kv.release('lock', 'sess-1'),
    method: 'PUT',
    path: '/v1/kv/lock',
    query: { release: 'sess-1' },
    reply: { body: 'true' },
    result: (value) => assert.equal(value, true),
  },
  {
    route: 'DELETE /v1/kv/:key',
    call: (c) => c.kv.delete('app/x', { cas: 12 }),
    method: 'DELETE',
    path: '/v1/kv/app/x',
    query: { cas: '12' },
    reply: { body: 'true' },
    result: (value) => assert.equal(value, true),
  },
  {
    route: 'DELETE /v1/kv/:key',
    call: (c) => c.kv.deleteTree('app/', { dc: 'dc1' }),
    method: 'DELETE',
    path: '/v1/kv/app/',
    query: { recurse: '', dc: 'dc1' },
    reply: { body: 'true' },
    result: (value) => assert.equal(value, true),
  },
];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = [];
