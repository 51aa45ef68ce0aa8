import type { EndpointRow } from './table.js';

/**
 * Every endpoint group's rows. Each group's file exports `rows`; add the group here once.
 */
export const groups: Record<string, () => Promise<{ rows: EndpointRow[] }>> = {
  status: () => import('./status.js'),
};
