import { CALL_OPTIONS, checkEtcdOptions, type EtcdCallOptions } from '../options.js';
import { extend, type OptionTableOf } from '@polykv/core';
import type { EtcdRequest, EtcdResponse, RequestFn } from '../request.js';
import type {
  EtcdNode,
  EtcdResult,
  EtcdEmptyWait,
  EtcdGetOptions,
  EtcdWaitOptions,
  EtcdSetOptions,
  EtcdCreateOptions,
  EtcdDelOptions,
} from './keys-types.js';

export type {
  EtcdNode,
  EtcdResult,
  EtcdEmptyWait,
  EtcdGetOptions,
  EtcdWaitOptions,
  EtcdSetOptions,
  EtcdCreateOptions,
  EtcdDelOptions,
} from './keys-types.js';

/** Escapes each segment of a key and joins it under `/v2/keys`. */
export function keyPath(key: string): string {
  let path = '/v2/keys';
  let start = 0;
  const length = key.length;
  while (start <= length) {
    let end = key.indexOf('/', start);
    if (end === -1) end = length;
    if (end > start) path += `/${encodeURIComponent(key.slice(start, end))}`;
    start = end + 1;
  }
  return path === '/v2/keys' ? '/v2/keys/' : path;
}

function form(parts: string[], name: string, value: string | number | boolean | undefined | null): void {
  if (value === undefined) return;
  parts.push(`${name}=${value === null ? '' : encodeURIComponent(String(value))}`);
}

const NO_OPTIONS = Object.freeze({});

// Each call's options with their types: an unknown key (a typo such as `ttl` spelled `tll`) or a
// wrong type is ETCD_INVALID_ARGUMENT naming it, before anything is sent.
const GET_OPTIONS = {
  ...CALL_OPTIONS,
  recursive: 'boolean',
  sorted: 'boolean',
  quorum: 'boolean',
} satisfies OptionTableOf<EtcdGetOptions>;
const WAIT_OPTIONS = {
  ...CALL_OPTIONS,
  recursive: 'boolean',
  waitIndex: 'number',
} satisfies OptionTableOf<EtcdWaitOptions>;
const SET_OPTIONS = {
  ...CALL_OPTIONS,
  ttl: ['number', 'null'],
  prevExist: 'boolean',
  prevValue: 'string',
  prevIndex: 'number',
  refresh: 'boolean',
  dir: 'boolean',
  idempotent: 'boolean',
} satisfies OptionTableOf<EtcdSetOptions>;
const CREATE_OPTIONS = { ...CALL_OPTIONS, ttl: 'number' } satisfies OptionTableOf<EtcdCreateOptions>;
const DEL_OPTIONS = {
  ...CALL_OPTIONS,
  recursive: 'boolean',
  dir: 'boolean',
  prevValue: 'string',
  prevIndex: 'number',
  idempotent: 'boolean',
} satisfies OptionTableOf<EtcdDelOptions>;

/** What is wrong with a node of an answer (and its children), or `undefined`. */
function nodeProblem(value: unknown, where: string, keyless: boolean): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${where} is not an object`;
  const node = value as Record<string, unknown>;
  // Only the root answers without a key or indexes: `{ "dir": true }`.
  if (!(keyless && node.key === undefined && node.dir === true)) {
    if (typeof node.key !== 'string') return `${where}.key is not a string`;
    if (typeof node.modifiedIndex !== 'number' || typeof node.createdIndex !== 'number')
      return `${where} has no numeric modifiedIndex and createdIndex`;
  }
  if (node.dir !== undefined && typeof node.dir !== 'boolean') return `${where}.dir is not a boolean`;
  if (node.value !== undefined && typeof node.value !== 'string') return `${where}.value is not a string`;
  if (node.ttl !== undefined && typeof node.ttl !== 'number') return `${where}.ttl is not a number`;
  if (node.expiration !== undefined && typeof node.expiration !== 'string')
    return `${where}.expiration is not a string`;
  if (node.nodes === undefined) return undefined;
  if (!Array.isArray(node.nodes)) return `${where}.nodes is not a list`;
  for (let i = 0; i < node.nodes.length; i++) {
    const problem = nodeProblem(node.nodes[i], `${where}.nodes[${i}]`, false);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * A check of keys results (see `EtcdRequest.check`): an object whose `action` is one that the call
 * can answer with, and well-formed nodes. A write answered with a read's action did not happen.
 */
function resultCheck(
  actions: readonly string[],
  options: { root?: boolean; dir?: boolean } = {},
): (body: unknown) => string | undefined {
  return (body) => {
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      return 'not a keys result (an object with action and node)';
    const result = body as Record<string, unknown>;
    if (typeof result.action !== 'string' || !actions.includes(result.action))
      return `action ${JSON.stringify(result.action)?.slice(0, 40) ?? 'missing'}, expected ${actions.join(' or ')}`;
    const problem =
      nodeProblem(result.node, 'node', options.root === true) ??
      (result.prevNode === undefined ? undefined : nodeProblem(result.prevNode, 'prevNode', false));
    if (problem !== undefined) return problem;
    if (options.dir && (result.node as EtcdNode).dir !== true) return 'node is not a directory';
    return undefined;
  };
}

const WRITE_ACTIONS = ['set', 'update', 'create', 'compareAndSwap'];
const DELETE_ACTIONS = ['delete', 'compareAndDelete'];
const CHECK_GET = resultCheck(['get']);
const CHECK_GET_ROOT = resultCheck(['get'], { root: true });
const CHECK_SET = resultCheck(WRITE_ACTIONS);
const CHECK_MKDIR = resultCheck(WRITE_ACTIONS, { dir: true });
const CHECK_CREATE = resultCheck(['create']);
const CHECK_DELETE = resultCheck(DELETE_ACTIONS);
const CHECK_EVENT = resultCheck(['get', ...WRITE_ACTIONS, ...DELETE_ACTIONS, 'expire']);

function parseResultValues<V>(result: EtcdResult<V>): EtcdResult<V> {
  parseValues(result.node as EtcdNode<unknown>);
  parseValues(result.prevNode as EtcdNode<unknown> | undefined);
  return result;
}

function parseValues<V>(node: EtcdNode<unknown> | undefined): void {
  if (!node) return;
  if (typeof node.value === 'string') {
    try {
      node.value = JSON.parse(node.value) as V;
    } catch {
      // Values written by other tools are often plain text: hand them over as they are.
    }
  }
  if (node.nodes) for (const child of node.nodes) parseValues(child);
}

/**
 * `/v2/keys`: the etcd v2 key space.
 * @see https://etcd.io/docs/v2.3/api/
 */
export class KeysApi {
  readonly #request: RequestFn;
  readonly #json: boolean;

  /**
   * Made by {@link EtcdClient}: use `client.keys`.
   * @param json - values are JSON (the client's `json` option): stringified on write, parsed on read.
   */
  constructor(request: RequestFn, json: boolean) {
    this.#request = request;
    this.#json = json;
  }

  #result<V>(
    response: EtcdResponse<
      Omit<EtcdResult<V>, 'etcdIndex' | 'raftIndex' | 'raftTerm' | 'clusterId' | 'host'>
    >,
  ): EtcdResult<V> {
    const body = response.body as EtcdResult<V>;
    body.etcdIndex = response.etcdIndex;
    body.raftIndex = response.raftIndex;
    body.raftTerm = response.raftTerm;
    body.clusterId = response.clusterId;
    body.host = response.host;
    if (this.#json) {
      parseValues(body.node as EtcdNode<unknown>);
      parseValues(body.prevNode as EtcdNode<unknown> | undefined);
    }
    return body;
  }

  /**
   * A keys call whose result is the JSON body with the meta fields set on it by the request
   * function (`merge`): one object and one await fewer per call than an {@link EtcdResponse}.
   */
  #call<V>(
    method: EtcdRequest['method'],
    path: string,
    body: string | undefined,
    idempotent: boolean,
    options: EtcdCallOptions,
    check: (body: unknown) => string | undefined,
  ): Promise<EtcdResult<V>> {
    const pending = this.#request<EtcdResult<V>>({
      method,
      path,
      body,
      idempotent,
      merge: true,
      check,
      signal: options.signal,
      timeout: options.timeout,
      maxRetries: options.maxRetries,
    }) as unknown as Promise<EtcdResult<V>>;
    return this.#json ? pending.then(parseResultValues) : pending;
  }

  #encode(value: unknown): string | undefined {
    if (value === undefined) return undefined;
    if (this.#json) return JSON.stringify(value);
    return typeof value === 'string' ? value : JSON.stringify(value);
  }

  /**
   * Reads a key or a directory. A missing key rejects with `ETCD_KEY_NOT_FOUND` (errorCode 100,
   * with `index`).
   * `GET /v2/keys/:key`
   */
  get<V = string>(key: string, options: EtcdGetOptions = NO_OPTIONS): Promise<EtcdResult<V>> {
    // Not async (one await layer fewer), yet a bad argument still rejects rather than throws.
    try {
      if (options !== NO_OPTIONS) checkEtcdOptions(options, GET_OPTIONS, 'keys.get');
      let query = '';
      if (options.recursive) query += '&recursive=true';
      if (options.sorted) query += '&sorted=true';
      if (options.quorum) query += '&quorum=true';
      const base = keyPath(key);
      const path = query === '' ? base : `${base}?${query.slice(1)}`;
      return this.#call<V>(
        'GET',
        path,
        undefined,
        true,
        options,
        base === '/v2/keys/' ? CHECK_GET_ROOT : CHECK_GET,
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Writes a key (or a directory with `dir`), with optional TTL and conditions.
   * `PUT /v2/keys/:key`
   */
  set<V = string>(
    key: string,
    value: V | undefined,
    options: EtcdSetOptions = NO_OPTIONS,
  ): Promise<EtcdResult<V>> {
    // Not async (one await layer fewer), yet a bad argument still rejects rather than throws.
    try {
      if (options !== NO_OPTIONS) checkEtcdOptions(options, SET_OPTIONS, 'keys.set');
      const parts: string[] = [];
      const encoded = options.dir || options.refresh ? undefined : this.#encode(value);
      form(parts, 'value', encoded);
      form(parts, 'ttl', options.ttl);
      if (options.dir) parts.push('dir=true');
      if (options.refresh) parts.push('refresh=true');
      form(parts, 'prevExist', options.prevExist);
      form(parts, 'prevValue', options.prevValue);
      form(parts, 'prevIndex', options.prevIndex);
      const conditional =
        options.prevExist !== undefined ||
        options.prevValue !== undefined ||
        options.prevIndex !== undefined ||
        options.refresh === true;
      const body = parts.length === 1 ? parts[0] : parts.join('&');
      const check = options.dir ? CHECK_MKDIR : CHECK_SET;
      return this.#call<V>('PUT', keyPath(key), body, options.idempotent ?? !conditional, options, check);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Writes a key only if it exists (`prevExist=true`). `PUT /v2/keys/:key?prevExist=true` */
  update<V = string>(key: string, value: V, options: EtcdSetOptions = {}): Promise<EtcdResult<V>> {
    return this.set(key, value, extend(options, { prevExist: true }));
  }

  /** Refreshes a key's TTL without changing its value or notifying watchers. */
  refresh(key: string, ttl: number, options: EtcdSetOptions = {}): Promise<EtcdResult> {
    return this.set<string>(key, undefined, { prevExist: true, ...options, ttl, refresh: true });
  }

  /**
   * Creates an in-order key under `dir` (its name is the 20-digit, zero-padded index). Never
   * replayed after it may have reached a server: a replay would create a second key.
   * `POST /v2/keys/:dir`
   */
  async create<V = string>(dir: string, value: V, options: EtcdCreateOptions = {}): Promise<EtcdResult<V>> {
    checkEtcdOptions(options, CREATE_OPTIONS, 'keys.create');
    const parts: string[] = [];
    form(parts, 'value', this.#encode(value));
    form(parts, 'ttl', options.ttl);
    const response = await this.#request<EtcdResult<V>>({
      method: 'POST',
      path: keyPath(dir),
      body: parts.join('&'),
      idempotent: false,
      check: CHECK_CREATE,
      signal: options.signal,
      timeout: options.timeout,
      maxRetries: options.maxRetries,
    });
    return this.#result(response);
  }

  /** Alias of {@link KeysApi.create} (node-etcd's `post`, etcdjs's `push`). */
  push<V = string>(dir: string, value: V, options: EtcdCreateOptions = {}): Promise<EtcdResult<V>> {
    return this.create(dir, value, options);
  }

  /** Deletes a key (or a directory with `dir`/`recursive`). `DELETE /v2/keys/:key` */
  del<V = string>(key: string, options: EtcdDelOptions = NO_OPTIONS): Promise<EtcdResult<V>> {
    // Not async (one await layer fewer), yet a bad argument still rejects rather than throws.
    try {
      if (options !== NO_OPTIONS) checkEtcdOptions(options, DEL_OPTIONS, 'keys.del');
      let query = '';
      if (options.recursive) query += '&recursive=true';
      if (options.dir || options.recursive) query += '&dir=true';
      if (options.prevValue !== undefined) query += `&prevValue=${encodeURIComponent(options.prevValue)}`;
      if (options.prevIndex !== undefined) query += `&prevIndex=${options.prevIndex}`;
      const conditional = options.prevValue !== undefined || options.prevIndex !== undefined;
      const path = query === '' ? keyPath(key) : `${keyPath(key)}?${query.slice(1)}`;
      return this.#call<V>(
        'DELETE',
        path,
        undefined,
        options.idempotent ?? !conditional,
        options,
        CHECK_DELETE,
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Alias of {@link KeysApi.del}. */
  delete<V = string>(key: string, options: EtcdDelOptions = {}): Promise<EtcdResult<V>> {
    return this.del(key, options);
  }

  /** Writes only if the current value is `prevValue`. `PUT /v2/keys/:key?prevValue=` */
  compareAndSwap<V = string>(
    key: string,
    value: V,
    prevValue: string,
    options: EtcdSetOptions = {},
  ): Promise<EtcdResult<V>> {
    return this.set(key, value, extend(options, { prevValue }));
  }

  /** Deletes only if the current value is `prevValue`. `DELETE /v2/keys/:key?prevValue=` */
  compareAndDelete<V = string>(
    key: string,
    prevValue: string,
    options: EtcdDelOptions = {},
  ): Promise<EtcdResult<V>> {
    return this.del(key, extend(options, { prevValue }));
  }

  /** Creates a directory. `PUT /v2/keys/:key?dir=true` */
  mkdir(key: string, options: EtcdSetOptions = {}): Promise<EtcdResult> {
    return this.set<string>(key, undefined, extend(options, { dir: true }));
  }

  /** Deletes a directory (`recursive` for a non-empty one). `DELETE /v2/keys/:key?dir=true` */
  rmdir(key: string, options: EtcdDelOptions = {}): Promise<EtcdResult> {
    return this.del(key, extend(options, { dir: true }));
  }

  /**
   * Long-polls for the next change of `key` (with `recursive`, below it), from `waitIndex` when
   * given. Resolves `{ action: null }` when the server ended the poll without an event: resume at
   * `etcdIndex + 1`. An index older than etcd's history rejects with `ETCD_EVENT_INDEX_CLEARED`
   * (errorCode 401). The client's default timeout does not apply; `timeout` bounds the wait.
   * `GET /v2/keys/:key?wait=true`
   */
  async wait<V = string>(key: string, options: EtcdWaitOptions = {}): Promise<EtcdResult<V> | EtcdEmptyWait> {
    checkEtcdOptions(options, WAIT_OPTIONS, 'keys.wait');
    let query = 'wait=true';
    if (options.recursive) query += '&recursive=true';
    if (options.waitIndex !== undefined) query += `&waitIndex=${options.waitIndex}`;
    const response = await this.#request<EtcdResult<V> | undefined>({
      method: 'GET',
      path: `${keyPath(key)}?${query}`,
      idempotent: true,
      wait: true,
      check: CHECK_EVENT,
      signal: options.signal,
      timeout: options.timeout,
      maxRetries: options.maxRetries,
    });
    if (response.body === undefined)
      return { action: null, etcdIndex: response.etcdIndex, host: response.host };
    return this.#result(response as EtcdResponse<EtcdResult<V>>);
  }

  /** `wait` from `index` (node-etcd's `watchIndex`). */
  watchIndex<V = string>(
    key: string,
    index: number,
    options: EtcdWaitOptions = {},
  ): Promise<EtcdResult<V> | EtcdEmptyWait> {
    return this.wait(key, extend(options, { waitIndex: index }));
  }
}
