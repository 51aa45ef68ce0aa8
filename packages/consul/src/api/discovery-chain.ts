import type { Transport } from '../request.js';

/**
 * `/v1/discovery-chain`.
 * @see https://developer.hashicorp.com/consul/api-docs/discovery-chain
 */
export class DiscoveryChain {
  constructor(private readonly transport: Transport) {}
}
