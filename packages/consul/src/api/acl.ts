import type { Transport } from '../request.js';

/**
 * `/v1/acl`.
 * @see https://developer.hashicorp.com/consul/api-docs/acl
 */
export class Acl {
  constructor(private readonly transport: Transport) {}
}
