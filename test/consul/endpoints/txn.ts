import assert from 'node:assert/strict';
import type { TxnResponse } from '@polykv/consul';
import type { EndpointRow } from './table.js';

export const rows: EndpointRow[] = [
  {
    route: 'PUT /v1/txn',
    call: (c) =>
      c.txn.apply(
        [
          { KV: { Verb: 'set', Key: 'txn/a', Value: 'hello', Flags: 18446744073709551615n } },
          { KV: { Verb: 'cas', Key: 'txn/b', Value: new Uint8Array([0, 255]), Index: 7 } },
          { Node: { Verb: 'get', Node: { Node: 'vm' } } },
        ],
        { dc: 'dc1' },
      ),
    method: 'PUT',
    path: '/v1/txn',
    query: { dc: 'dc1' },
    // Compared as text: the uint64 Flags must travel as exact digits.
    body:
      '[{"KV":{"Verb":"set","Key":"txn/a","Value":"aGVsbG8=","Flags":18446744073709551615}},' +
      '{"KV":{"Verb":"cas","Key":"txn/b","Index":7,"Value":"AP8="}},{"Node":{"Verb":"get","Node":{"Node":"vm"}}}]',
    reply: {
      body:
        '{"Results":[{"KV":{"LockIndex":0,"Key":"txn/a","Flags":18446744073709551615,"Value":null,' +
        '"CreateIndex":20,"ModifyIndex":20}}],"Errors":null}',
    },
    result: (value) => {
      const response = value as TxnResponse;
      assert.equal(response.ok, true);
      assert.equal(response.Results[0]?.KV?.Flags, 18446744073709551615n);
      assert.equal(response.Results[0]?.KV?.Value, null);
      assert.deepEqual(response.Errors, []);
    },
  },
  {
    route: 'PUT /v1/txn',
    call: (c) =>
      c.txn.apply([
        { KV: { Verb: 'set', Key: 'txn/k0', Value: 'x' } },
        { KV: { Verb: 'cas', Key: 'txn/k1', Value: 'y', Index: 1 } },
      ]),
    method: 'PUT',
    path: '/v1/txn',
    body: [
      { KV: { Verb: 'set', Key: 'txn/k0', Value: 'eA==' } },
      { KV: { Verb: 'cas', Key: 'txn/k1', Index: 1, Value: 'eQ==' } },
    ],
    reply: {
      status: 409,
      body: { Results: null, Errors: [{ OpIndex: 1, What: 'failed to set key "txn/k1", index is stale' }] },
    },
    result: (value) => {
      const response = value as TxnResponse;
      assert.equal(response.ok, false);
      assert.deepEqual(response.Results, []);
      assert.equal(response.Errors[0]?.OpIndex, 1);
      assert.match(response.Errors[0]?.What ?? '', /index is stale/);
      assert.deepEqual(response.Errors[0]?.op, { KV: { Verb: 'cas', Key: 'txn/k1', Value: 'y', Index: 1 } });
    },
  },
];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = [];
