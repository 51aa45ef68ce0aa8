import type { EndpointRow } from './table.js';

export const rows: EndpointRow[] = [];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = [
  'GET /v1/connect/ca/roots',
  'GET /v1/connect/ca/configuration',
  'PUT /v1/connect/ca/configuration',
  'POST /v1/connect/intentions',
  'PUT /v1/connect/intentions/:uuid',
  'GET /v1/connect/intentions/:uuid',
  'GET /v1/connect/intentions',
  'DELETE /v1/connect/intentions/:uuid',
  'GET /v1/connect/intentions/check',
  'GET /v1/connect/intentions/match',
];
