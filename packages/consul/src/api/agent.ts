import type { Transport } from '../request.js';

/**
 * `/v1/agent`.
 * @see https://developer.hashicorp.com/consul/api-docs/agent
 */
export class Agent {
  constructor(private readonly transport: Transport) {}
}
