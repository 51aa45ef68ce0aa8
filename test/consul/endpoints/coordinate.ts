import assert from 'node:assert/strict';
import type { EndpointRow } from './table.js';

const coord = { Vec: [0, 0, 0, 0, 0, 0, 0, 0], Error: 1.5, Adjustment: 0, Height: 0.00001 };
const entry = { Node: 'web-1', Segment: '', Coord: coord };

export const rows: EndpointRow[] = [
  {
    route: 'GET /v1/coordinate/datacenters',
    call: (c) => c.coordinate.datacenters(),
    method: 'GET',
    path: '/v1/coordinate/datacenters',
    reply: { body: [{ Datacenter: 'dc1', AreaID: 'wan', Coordinates: [entry] }] },
    result: (value) => assert.deepEqual(value, [{ Datacenter: 'dc1', AreaID: 'wan', Coordinates: [entry] }]),
  },
  {
    route: 'GET /v1/coordinate/nodes',
    call: (c) => c.coordinate.nodes({ index: 25, wait: '5s' }),
    method: 'GET',
    path: '/v1/coordinate/nodes',
    query: { index: '25', wait: '5s' },
    reply: { body: [entry], headers: { 'X-Consul-Index': '26' } },
    result: (value) => {
      const { data, meta } = value as { data: unknown; meta: { index: number } };
      assert.deepEqual(data, [entry]);
      assert.equal(meta.index, 26);
    },
  },
  {
    route: 'GET /v1/coordinate/node/:node',
    call: (c) => c.coordinate.node('nope'),
    method: 'GET',
    path: '/v1/coordinate/node/nope',
    reply: { status: 404, body: '' },
    result: (value) => assert.equal((value as { data: unknown }).data, null),
  },
  {
    route: 'PUT /v1/coordinate/update',
    call: (c) => c.coordinate.update({ Node: 'web-1', Coord: coord }),
    method: 'PUT',
    path: '/v1/coordinate/update',
    body: { Node: 'web-1', Coord: coord },
    reply: { body: '' },
    result: (value) => assert.equal(value, undefined),
  },
];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = [];
