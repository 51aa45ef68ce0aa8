import type { EndpointRow } from './table.js';

export const rows: EndpointRow[] = [];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = ['PUT /v1/event/fire/:name', 'GET /v1/event/list'];
