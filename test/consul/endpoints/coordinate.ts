import type { EndpointRow } from './table.js';

export const rows: EndpointRow[] = [];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = [
  'GET /v1/coordinate/datacenters',
  'GET /v1/coordinate/nodes',
  'GET /v1/coordinate/node/:node',
  'PUT /v1/coordinate/update',
];
