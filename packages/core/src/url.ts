import { InvalidArgumentError } from './errors.js';
import { KeySpace } from './keys.js';

/** One host of a store URL. */
export interface StoreUrlHost {
  /** The host name or address; IPv6 addresses keep their brackets (`[::1]`). */
  host: string;
  /** The port, when the URL gave one. */
  port: number | undefined;
}

/** A parsed store URL, as {@link parseStoreUrl} returns it. */
export interface StoreUrl {
  /** `memory`, `etcd`, `etcds`, `consul` or `consuls`. */
  scheme: string;
  /** True for `etcds://`, `etcd3s://` and `consuls://`. */
  tls: boolean;
  /** The hosts, in the order given. For `memory://name`, the name is the one host. */
  hosts: StoreUrlHost[];
  /** The user name of the URL's user info, percent-decoded; `undefined` when the URL has none. */
  username: string | undefined;
  /** The password of the URL's user info, percent-decoded; `undefined` when none. Masked in `redacted`. */
  password: string | undefined;
  /** The normalized key prefix from the URL's path (`''` for none). */
  prefix: string;
  /** The query parameters; each backend rejects the ones it does not know. */
  params: URLSearchParams;
  /** The URL with the password and secret parameters masked: safe for logs and error messages. */
  redacted: string;
}

const SECRET_PARAMS = new Set(['token', 'password', 'secret']);

function redact(scheme: string, authority: string, path: string, query: string): string {
  const at = authority.lastIndexOf('@');
  let shown = authority;
  if (at !== -1) {
    const user = authority.slice(0, at).split(':')[0] ?? '';
    shown = `${user}${authority.slice(0, at).includes(':') ? ':***' : ''}@${authority.slice(at + 1)}`;
  }
  let shownQuery = '';
  if (query !== '') {
    const params = new URLSearchParams(query);
    for (const name of params.keys()) if (SECRET_PARAMS.has(name.toLowerCase())) params.set(name, '***');
    shownQuery = `?${params.toString()}`;
  }
  return `${scheme}://${shown}${path}${shownQuery}`;
}

function decode(part: string, what: string, redacted: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new InvalidArgumentError('url', `store URL ${redacted}: bad percent-encoding in the ${what}`);
  }
}

function parseHost(text: string, redacted: string, memory: boolean): StoreUrlHost {
  const bad = (why: string): never => {
    throw new InvalidArgumentError('url', `store URL ${redacted}: ${why}`);
  };
  if (memory) {
    if (!/^[\w.-]*$/.test(text))
      bad(`memory store name ${JSON.stringify(text)} may only hold letters, digits, '.', '_' and '-'`);
    return { host: text, port: undefined };
  }
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) bad(`host ${JSON.stringify(text)} has an unclosed '['`);
    host = text.slice(0, close + 1);
    const rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) bad(`host ${JSON.stringify(text)} has text after ']'`);
    portText = rest === '' ? undefined : rest.slice(1);
    if (!/^\[[0-9a-f:.]+\]$/i.test(host)) bad(`host ${JSON.stringify(host)} is not an IPv6 address`);
  } else {
    const colon = text.lastIndexOf(':');
    host = colon === -1 ? text : text.slice(0, colon);
    portText = colon === -1 ? undefined : text.slice(colon + 1);
    if (host === '') bad('a host is empty');
    if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i.test(host)) {
      bad(`host ${JSON.stringify(host)} is not a valid host name or address`);
    }
  }
  let port: number | undefined;
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535))
      bad(`port ${JSON.stringify(portText)} of host ${host} is not a number from 1 to 65535`);
  }
  return { host, port };
}

/**
 * Parses `scheme://[user[:password]@]host[:port][,host[:port]...][/prefix][?params]`. Several hosts
 * are separated by commas; the path is the key prefix (percent-decoded, validated like a key).
 * @throws InvalidArgumentError naming the bad part, with credentials and tokens masked.
 */
export function parseStoreUrl(url: unknown): StoreUrl {
  if (typeof url !== 'string')
    throw new InvalidArgumentError('url', `store URL must be a string, got ${typeof url}`);
  const match = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(#.*)?$/i.exec(url.trim());
  if (!match) {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
    throw new InvalidArgumentError(
      'url',
      scheme
        ? `store URL for ${scheme}: must look like ${scheme}://host:port/prefix`
        : 'store URL has no scheme (e.g. etcd://127.0.0.1:2379)',
    );
  }
  const scheme = match[1]!.toLowerCase();
  const authority = match[2]!;
  const path = match[3]!;
  const query = match[4] ?? '';
  const redacted = redact(scheme, authority, path, query);
  if (match[5] !== undefined)
    throw new InvalidArgumentError('url', `store URL ${redacted}: a fragment (#...) has no meaning here`);
  const memory = scheme === 'memory';

  let username: string | undefined;
  let password: string | undefined;
  let hostList = authority;
  const at = authority.lastIndexOf('@');
  if (at !== -1) {
    const userInfo = authority.slice(0, at);
    hostList = authority.slice(at + 1);
    const colon = userInfo.indexOf(':');
    username = decode(colon === -1 ? userInfo : userInfo.slice(0, colon), 'user name', redacted);
    password = colon === -1 ? undefined : decode(userInfo.slice(colon + 1), 'password', redacted);
  }
  if (!memory && hostList === '') throw new InvalidArgumentError('url', `store URL ${redacted}: no host`);
  const hosts =
    memory && hostList === '' ? [] : hostList.split(',').map((part) => parseHost(part, redacted, memory));

  let prefix = '';
  const decodedPath = path
    .split('/')
    .map((segment) => decode(segment, 'path', redacted))
    .join('/');
  try {
    prefix = new KeySpace(decodedPath).prefix;
  } catch (cause) {
    throw new InvalidArgumentError('url', `store URL ${redacted}: the path is not a valid key prefix`, {
      cause,
    });
  }
  return {
    scheme,
    tls: scheme === 'etcds' || scheme === 'etcd3s' || scheme === 'consuls',
    hosts,
    username,
    password,
    prefix,
    params: new URLSearchParams(query),
    redacted,
  };
}

/** Rejects query parameters a backend does not know, naming them. */
export function checkUrlParams(url: StoreUrl, known: readonly string[]): void {
  for (const name of url.params.keys()) {
    if (!known.includes(name)) {
      throw new InvalidArgumentError(
        'url',
        `store URL ${url.redacted}: unknown parameter ${JSON.stringify(name)} (known: ${known.join(', ') || 'none'})`,
      );
    }
  }
}
