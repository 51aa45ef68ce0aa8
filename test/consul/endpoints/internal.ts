import type { EndpointRow } from './table.js';

export const rows: EndpointRow[] = [];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = [
  'GET /v1/internal/ui/nodes',
  'GET /v1/internal/ui/node/:node',
  'GET /v1/internal/ui/services',
  'GET /v1/internal/ui/gateway-services-nodes/:gateway',
  'POST /v1/internal/acl/authorize',
  'GET /v1/internal/federation-states',
  'GET /v1/internal/federation-states/mesh-gateways',
  'GET /v1/internal/federation-state/:datacenter',
];
