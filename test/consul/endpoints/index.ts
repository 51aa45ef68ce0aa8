import type { EndpointRow } from './table.js';

/** Every endpoint group's rows, one file per group (the same split as packages/consul/src/api). */
export const groups: Record<string, () => Promise<{ rows: EndpointRow[]; pending: string[] }>> = {
  acl: () => import('./acl.js'),
  agent: () => import('./agent.js'),
  catalog: () => import('./catalog.js'),
  config: () => import('./config.js'),
  connect: () => import('./connect.js'),
  coordinate: () => import('./coordinate.js'),
  'discovery-chain': () => import('./discovery-chain.js'),
  event: () => import('./event.js'),
  health: () => import('./health.js'),
  internal: () => import('./internal.js'),
  kv: () => import('./kv.js'),
  operator: () => import('./operator.js'),
  query: () => import('./query.js'),
  session: () => import('./session.js'),
  snapshot: () => import('./snapshot.js'),
  status: () => import('./status.js'),
  txn: () => import('./txn.js'),
};
