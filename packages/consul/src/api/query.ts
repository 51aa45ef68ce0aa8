import type { Transport } from '../request.js';

/**
 * `/v1/query: prepared queries`.
 * @see https://developer.hashicorp.com/consul/api-docs/query
 */
export class Query {
  constructor(private readonly transport: Transport) {}
}
