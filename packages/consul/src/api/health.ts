import type { Transport } from '../request.js';

/**
 * `/v1/health`.
 * @see https://developer.hashicorp.com/consul/api-docs/health
 */
export class Health {
  constructor(private readonly transport: Transport) {}
}
