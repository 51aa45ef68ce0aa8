import type { Transport } from '../request.js';

/**
 * `/v1/session`.
 * @see https://developer.hashicorp.com/consul/api-docs/session
 */
export class Session {
  constructor(private readonly transport: Transport) {}
}
