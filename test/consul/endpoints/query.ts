import type { EndpointRow } from './table.js';

export const rows: EndpointRow[] = [];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = [
  'POST /v1/query',
  'GET /v1/query',
  'GET /v1/query/:uuid',
  'PUT /v1/query/:uuid',
  'DELETE /v1/query/:uuid',
  'GET /v1/query/:uuid/execute',
  'GET /v1/query/:uuid/explain',
];
