import type { EndpointRow } from './table.js';

export const rows: EndpointRow[] = [];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = [
  'PUT /v1/config',
  'GET /v1/config/:kind/:name',
  'GET /v1/config/:kind',
  'DELETE /v1/config/:kind/:name',
];
