import type { EndpointRow } from './table.js';

export const rows: EndpointRow[] = [];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = [
  'PUT /v1/catalog/register',
  'PUT /v1/catalog/deregister',
  'GET /v1/catalog/datacenters',
  'GET /v1/catalog/nodes',
  'GET /v1/catalog/services',
  'GET /v1/catalog/service/:service',
  'GET /v1/catalog/connect/:service',
  'GET /v1/catalog/node/:node',
  'GET /v1/catalog/node-services/:node',
  'GET /v1/catalog/gateway-services/:gateway',
];
