import type { EndpointRow } from './table.js';

export const rows: EndpointRow[] = [];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = ['GET /v1/kv/:key', 'PUT /v1/kv/:key', 'DELETE /v1/kv/:key'];
