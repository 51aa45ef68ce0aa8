import type { EndpointRow } from './table.js';

export const rows: EndpointRow[] = [];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = [
  'PUT /v1/session/create',
  'PUT /v1/session/destroy/:uuid',
  'GET /v1/session/info/:uuid',
  'GET /v1/session/node/:node',
  'GET /v1/session/list',
  'PUT /v1/session/renew/:uuid',
];
