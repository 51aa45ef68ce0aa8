import type { ConsulClient } from '@polykv/consul';
import type { FakeReply } from '../../helpers/fake-server.js';

/**
 * One row of the Consul endpoint table: a client call and the exact HTTP request it must send.
 * `route` names the row of test/consul/consul-endpoints.tsv it covers (`'GET /v1/kv/:key'`,
 * spelled exactly as the TSV's method and path columns).
 */
export interface EndpointRow {
  route: string;
  /** The call under test, e.g. `(c) => c.kv.get('a b', { dc: 'x' })`. */
  call: (client: ConsulClient) => Promise<unknown>;
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** The expected path, escaped as sent (`/v1/kv/a%20b`). */
  path: string;
  /** Every expected query parameter (bare flags as `''`); nothing else may be sent. */
  query?: Record<string, string | string[]>;
  /** The expected body: an object compared as JSON, a string or Buffer byte for byte. */
  body?: unknown;
  /** What the fake agent answers. @defaultValue `{ status: 200, body: {} }` */
  reply?: FakeReply;
  /** Checks the call's result. */
  result?: (value: unknown) => void;
}
