import type { Transport } from '../request.js';

/**
 * `/v1/event`.
 * @see https://developer.hashicorp.com/consul/api-docs/event
 */
export class Event {
  constructor(private readonly transport: Transport) {}
}
