import type { Transport } from '../request.js';

/**
 * `/v1/catalog`.
 * @see https://developer.hashicorp.com/consul/api-docs/catalog
 */
export class Catalog {
  constructor(private readonly transport: Transport) {}
}
