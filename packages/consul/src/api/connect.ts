import type { Transport } from '../request.js';

/**
 * `/v1/connect: CA and intentions`.
 * @see https://developer.hashicorp.com/consul/api-docs/connect
 */
export class Connect {
  constructor(private readonly transport: Transport) {}
}
