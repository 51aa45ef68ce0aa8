import type { Transport } from '../request.js';

/**
 * `/v1/snapshot`.
 * @see https://developer.hashicorp.com/consul/api-docs/snapshot
 */
export class Snapshot {
  constructor(private readonly transport: Transport) {}
}
