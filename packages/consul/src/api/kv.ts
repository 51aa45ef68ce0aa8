import type { Transport } from '../request.js';

/**
 * `/v1/kv`.
 * @see https://developer.hashicorp.com/consul/api-docs/kv
 */
export class Kv {
  constructor(private readonly transport: Transport) {}
}
