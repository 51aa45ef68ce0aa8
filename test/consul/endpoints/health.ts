import type { EndpointRow } from './table.js';

export const rows: EndpointRow[] = [];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = [
  'GET /v1/health/node/:node',
  'GET /v1/health/checks/:service',
  'GET /v1/health/service/:service',
  'GET /v1/health/connect/:service',
  'GET /v1/health/ingress/:service',
  'GET /v1/health/state/:state',
];
