import type { Transport } from '../request.js';

/**
 * `/v1/coordinate`.
 * @see https://developer.hashicorp.com/consul/api-docs/coordinate
 */
export class Coordinate {
  constructor(private readonly transport: Transport) {}
}
