import assert from 'node:assert/strict';
import type { ConsulResult, UserEvent } from '@polykv/consul';
import type { EndpointRow } from './table.js';

const event = {
  ID: 'db9892bf-1ebc-46f4-14f6-48cef6464a5e',
  Name: 'deploy',
  Payload: 'eA==',
  NodeFilter: 'web.*',
  ServiceFilter: 'api',
  TagFilter: 'v1',
  Version: 1,
  LTime: 0,
};

export const rows: EndpointRow[] = [
  {
    route: 'PUT /v1/event/fire/:name',
    call: (c) => c.event.fire('deploy', 'x', { node: 'web.*', service: 'api', tag: 'v1', dc: 'dc1' }),
    method: 'PUT',
    path: '/v1/event/fire/deploy',
    query: { node: 'web.*', service: 'api', tag: 'v1', dc: 'dc1' },
    body: 'x',
    reply: { body: event },
    result: (value) => {
      const fired = value as UserEvent;
      assert.equal(fired.ID, event.ID);
      assert.deepEqual(fired.Payload, new TextEncoder().encode('x'));
    },
  },
  {
    route: 'GET /v1/event/list',
    call: (c) => c.event.list({ name: 'deploy', index: 1, wait: '5s' }),
    method: 'GET',
    path: '/v1/event/list',
    query: { name: 'deploy', index: '1', wait: '5s' },
    reply: { body: [{ ...event, Payload: null }], headers: { 'x-consul-index': '42' } },
    result: (value) => {
      const { data, meta } = value as ConsulResult<UserEvent[]>;
      assert.equal(data[0]?.Payload, null);
      assert.equal(meta.index, 42);
    },
  },
];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = [];
