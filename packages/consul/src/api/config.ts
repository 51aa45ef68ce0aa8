import type { Transport } from '../request.js';

/**
 * `/v1/config`.
 * @see https://developer.hashicorp.com/consul/api-docs/config
 */
export class Config {
  constructor(private readonly transport: Transport) {}
}
