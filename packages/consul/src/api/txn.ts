import type { Transport } from '../request.js';

/**
 * `/v1/txn`.
 * @see https://developer.hashicorp.com/consul/api-docs/txn
 */
export class Txn {
  constructor(private readonly transport: Transport) {}
}
