import type { EndpointRow } from './table.js';

export const rows: EndpointRow[] = [];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = [
  'GET /v1/operator/raft/configuration',
  'DELETE /v1/operator/raft/peer',
  'GET /v1/operator/autopilot/configuration',
  'PUT /v1/operator/autopilot/configuration',
  'GET /v1/operator/autopilot/health',
  'GET /v1/operator/keyring',
  'POST /v1/operator/keyring',
  'PUT /v1/operator/keyring',
  'DELETE /v1/operator/keyring',
];
