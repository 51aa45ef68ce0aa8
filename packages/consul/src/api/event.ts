import { decodeBase64, valueBytes, type ConsulValue } from '../codec.js';
import { ConsulError } from '../errors.js';
import type { ConsulResult, QueryOptions, WriteOptions } from '../options.js';
import type { Transport } from '../request.js';

/** A user event, with `Payload` decoded from base64. */
export interface UserEvent {
  /** The event's UUID, set by the agent that fired it (see {@link Event.idToIndex}). */
  ID: string;
  /** The event's name. */
  Name: string;
  /** The payload bytes, `null` for none. */
  Payload: Uint8Array | null;
  /** A regular expression on node names. */
  NodeFilter: string;
  /** A regular expression on service names: only nodes running a matching service act on it; `''` for all. */
  ServiceFilter: string;
  /** With `ServiceFilter`: a regular expression the service's tags must match; `''` for any. */
  TagFilter: string;
  /** The version of the user-event format (`1` on Consul 1.8). */
  Version: number;
  /** The event's Lamport time. */
  LTime: number;
}

/** Options of `PUT /v1/event/fire/:name`. */
export interface EventFireOptions extends WriteOptions {
  /** Only nodes whose name matches this regular expression. */
  node?: string;
  /** Only nodes running a service matching this regular expression. */
  service?: string;
  /** With `service`: only instances with a tag matching this regular expression. */
  tag?: string;
}

/** Options of `GET /v1/event/list`. */
export interface EventListOptions extends QueryOptions {
  /** Only events of this name. */
  name?: string;
}

interface RawUserEvent extends Omit<UserEvent, 'Payload'> {
  Payload: string | null;
}

const decodeEvent = (raw: RawUserEvent): UserEvent => ({ ...raw, Payload: decodeBase64(raw.Payload) });

/**
 * `/v1/event`: user events, fired over gossip and kept in a small per-agent buffer.
 * @see https://developer.hashicorp.com/consul/api-docs/event
 */
export class Event {
  /** Built by {@link ConsulClient}: use `client.event` rather than constructing this. */
  constructor(private readonly transport: Transport) {}

  /**
   * `PUT /v1/event/fire/:name`: fires an event and resolves it (with its ID).
   * @see https://developer.hashicorp.com/consul/api-docs/event#fire-event
   */
  async fire(name: string, payload?: ConsulValue, options?: EventFireOptions): Promise<UserEvent> {
    const { node, service, tag, ...rest } = options ?? {};
    const body = payload === undefined ? undefined : valueBytes(payload);
    const { data } = await this.transport.request<RawUserEvent>({
      method: 'PUT',
      path: `/v1/event/fire/${encodeURIComponent(name)}`,
      query: { node, service, tag },
      body: body ?? new Uint8Array(0),
      options: rest,
    });
    return decodeEvent(data);
  }

  /**
   * `GET /v1/event/list`: the events this agent has seen, oldest first. Blocking: the index is
   * derived from the last event's ID (see {@link Event.idToIndex}), a uint64 that a JS number
   * rounds; the client remembers the exact index behind each `meta.index` it returned, so passing
   * `meta.index` back (as `watch()` does) blocks on the exact value.
   * @see https://developer.hashicorp.com/consul/api-docs/event#list-events
   */
  async list(options?: EventListOptions): Promise<ConsulResult<UserEvent[]>> {
    const { name, index, ...rest } = options ?? {};
    const exact = index === undefined ? undefined : (this.#exact.get(index) ?? BigInt(index));
    const { data, meta, headers } = await this.transport.request<RawUserEvent[] | null>({
      method: 'GET',
      path: '/v1/event/list',
      // `index` goes as exact digits in the query (the Transport then leaves out the rounded one,
      // which still makes the call blocking: wait + margin timeout).
      query: { name, index: exact },
      options: index === undefined ? rest : { ...rest, index },
    });
    const header = headers['x-consul-index'];
    if (typeof header === 'string' && /^\d+$/.test(header)) this.#remember(Number(header), BigInt(header));
    return { data: (data ?? []).map(decodeEvent), meta };
  }

  readonly #exact = new Map<number, bigint>();

  #remember(rounded: number, exact: bigint): void {
    this.#exact.delete(rounded);
    this.#exact.set(rounded, exact);
    if (this.#exact.size > 64) this.#exact.delete(this.#exact.keys().next().value!);
  }

  /**
   * The blocking index Consul derives from an event ID (the Go api's `IDToIndex`): the XOR of the
   * UUID's first and last 64 bits. A uint64, hence a `bigint`.
   */
  idToIndex(uuid: string): bigint {
    return eventIdToIndex(uuid);
  }
}

/** See {@link Event.idToIndex}. */
export function eventIdToIndex(uuid: string): bigint {
  const match = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i.exec(uuid);
  if (!match) throw new ConsulError('CONSUL_INVALID_ARGUMENT', `not an event ID: ${JSON.stringify(uuid)}`);
  const lower = BigInt(`0x${match[1]}${match[2]}${match[3]}`);
  const upper = BigInt(`0x${match[4]}${match[5]}`);
  return lower ^ upper;
}
