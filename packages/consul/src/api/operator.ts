import type { Transport } from '../request.js';

/**
 * `/v1/operator: raft, autopilot, keyring`.
 * @see https://developer.hashicorp.com/consul/api-docs/operator
 */
export class Operator {
  constructor(private readonly transport: Transport) {}
}
