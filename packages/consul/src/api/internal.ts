import type { Transport } from '../request.js';

/**
 * `/v1/internal: the UI endpoints Consul serves (undocumented, not stable)`.
 * @see https://developer.hashicorp.com/consul/api-docs/index
 */
export class Internal {
  constructor(private readonly transport: Transport) {}
}
