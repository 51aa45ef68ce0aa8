import { probe } from '../helpers/processes.js';
import type { ConsulCli, ConsulLockProcess, Etcdctl } from '../helpers/tools.js';

// One fixture dataset, written by the official tools (never by polykv): what other people's data
// looks like when polykv meets it. Keys are relative to the fixture's prefix.

const text = (value: string): Buffer => Buffer.from(value, 'utf8');

/** One key as the tool wrote it. */
export interface FixtureValue {
  /** Relative to the fixture's prefix, verbatim (a Consul key may end with `/`). */
  key: string;
  value: Buffer;
  flags: bigint;
}

/** Bytes that are not UTF-8 (ff fe are never valid), a NUL, then text. */
export const BINARY = Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x61, 0x62, 0x63]);
/** Keys with characters that need escaping in a URL, and one that is not ASCII. */
export const ODD_KEYS = [
  'odd/sp ace',
  'odd/per%cent',
  'odd/q?mark',
  'odd/hash#tag',
  'odd/ünï',
  'odd/ü n%?#x',
];
/** api.Lock's and api.Semaphore's flag values: above 2^53, so a float would change them. */
export const CONSUL_LOCK_FLAGS = 0x2ddccbc058a50c18n;
export const CONSUL_SEMAPHORE_FLAGS = 0xe0f69a2baa414de0n;

/** Plain keys both tools can write (etcd v2 holds text, so no binary value here). */
const COMMON: readonly FixtureValue[] = [
  { key: 'text', value: text('hello world'), flags: 0n },
  // Valid base64, and text that looks like polykv's own encoding: both must read as the text they are.
  { key: 'b64-looking', value: text('aGVsbG8gd29ybGQ='), flags: 0n },
  { key: 'polykv-looking', value: text('polykv:base64:aGk='), flags: 0n },
  { key: 'empty', value: Buffer.alloc(0), flags: 0n },
  { key: 'multi', value: text('line 1\nline 2\n'), flags: 0n },
  { key: 'dash', value: text('-5'), flags: 0n },
  ...ODD_KEYS.map((key) => ({ key, value: text(`at ${key}`), flags: 0n })),
];

/** What `writeConsulFixture` wrote; `stop()` ends the lock holders. */
export interface ConsulFixture {
  prefix: string;
  /** Every key below the prefix with its value and flags, as `consul kv export` shows them. */
  keys: Map<string, FixtureValue>;
  /** Keys whose value is carried as is (the model holds them). */
  plain: FixtureValue[];
  /** `trail/`: a key ending in `/` that holds a value. */
  trailing: FixtureValue;
  /** `vc` holds a value and has a child `vc/child`. */
  valueWithChildren: { parent: FixtureValue; child: FixtureValue };
  /** The HTTP session (Behavior delete) that holds `svc/leader` and `svc/registry/node-1`. */
  session: { id: string; name: string; keys: string[] };
  /** `consul lock lk` (holds `lk/.lock`) and `consul lock -n 2 sem` (holds `sem/<its session>`). */
  lock: ConsulLockProcess;
  semaphore: ConsulLockProcess;
  /** Ids of every session that holds a fixture key. */
  sessions(): Promise<Map<string, string>>;
  stop(): Promise<void>;
}

/** Reads `consul kv export` output without losing flags above 2^53 (JSON numbers are doubles). */
export function parseConsulExport(data: Buffer | string): { key: string; flags: bigint; value: Buffer }[] {
  const source = typeof data === 'string' ? data : data.toString('utf8');
  // Only an object member named "flags" ends in `flags"` followed by `:` outside a string.
  const quoted = source.replace(/"flags"(\s*):(\s*)(\d+)/g, '"flags"$1:$2"$3"');
  const parsed = JSON.parse(quoted) as { key: string; flags: string; value: string }[];
  return parsed.map((entry) => ({
    key: entry.key,
    flags: BigInt(entry.flags),
    value: Buffer.from(entry.value, 'base64'),
  }));
}

/** Consul's HTTP API, for what the CLI cannot do (a session that holds two keys). */
async function consulHttp(
  cli: ConsulCli,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; body: string }> {
  const response = await probe(`http://${cli.agent.address}${path}`, {
    method,
    headers: cli.agent.token ? { 'X-Consul-Token': cli.agent.token } : {},
    ...(body !== undefined ? { body } : {}),
    timeoutMs: 10_000,
  });
  if (response.status !== 200) throw new Error(`${method} ${path}: ${response.status} ${response.body}`);
  return response;
}

/** `/v1/session/info/<id>`: the session, or null when it is gone. */
export async function sessionInfo(cli: ConsulCli, id: string): Promise<{ ID: string; Name: string } | null> {
  const response = await consulHttp(cli, 'GET', `/v1/session/info/${id}`);
  const sessions = JSON.parse(response.body) as { ID: string; Name: string }[] | null;
  return sessions?.[0] ?? null;
}

/**
 * Writes the Consul fixture below `prefix` with `consul kv put` (binary from a file, flags), starts
 * `consul lock` and `consul lock -n 2` on it, and has a session of its own hold two keys (what a Go
 * service's api.Lock leaves), then reads it all back with `consul kv export`.
 */
export async function writeConsulFixture(cli: ConsulCli, prefix: string): Promise<ConsulFixture> {
  const at = (key: string): string => `${prefix}/${key}`;
  const plain: FixtureValue[] = [
    ...COMMON,
    { key: 'bin', value: BINARY, flags: 42n },
    { key: 'max-flags', value: text('m'), flags: 0xffff_ffff_ffff_ffffn },
    { key: 'flags-text', value: text('flagged'), flags: 7n },
    // An empty, flag-less key ending in `/` is how Consul's UI and `consul kv put dir/` mark a folder.
    { key: 'marker/', value: Buffer.alloc(0), flags: 0n },
  ];
  const trailing = { key: 'trail/', value: text('a value on a folder'), flags: 0n };
  const parent = { key: 'vc', value: text('parent'), flags: 0n };
  const child = { key: 'vc/child', value: text('c'), flags: 0n };
  for (const entry of [...plain, trailing, parent, child])
    await cli.kvPut(at(entry.key), entry.value, { flags: entry.flags });

  // A session that is not polykv's, Behavior delete, holding two keys.
  const name = 'interop fixture: a Go service';
  const created = await consulHttp(
    cli,
    'PUT',
    '/v1/session/create',
    JSON.stringify({ Name: name, Behavior: 'delete', LockDelay: '0s' }),
  );
  const id = (JSON.parse(created.body) as { ID: string }).ID;
  const held = ['svc/leader', 'svc/registry/node-1'];
  for (const key of held) {
    const acquired = await consulHttp(
      cli,
      'PUT',
      `/v1/kv/${at(key).split('/').map(encodeURIComponent).join('/')}?acquire=${id}`,
      `${key} by ${name}`,
    );
    if (acquired.body.trim() !== 'true') throw new Error(`the fixture session did not acquire ${key}`);
  }

  const lock = cli.lock(at('lk'));
  const semaphore = cli.lock(at('sem'), { n: 2 });
  try {
    await Promise.all([lock.waitHeld(), semaphore.waitHeld()]);
  } catch (error) {
    await Promise.all([lock.stop(), semaphore.stop()]);
    throw error;
  }

  const keys = new Map<string, FixtureValue>();
  for (const entry of parseConsulExport(await cli.kvExport(`${prefix}/`))) {
    const key = entry.key.slice(prefix.length + 1);
    keys.set(key, { key, value: entry.value, flags: entry.flags });
  }
  const sessions = async (): Promise<Map<string, string>> => {
    const holders = new Map<string, string>();
    for (const key of keys.keys()) {
      const detailed = await cli.kvGetDetailed(at(key));
      if (detailed?.session) holders.set(key, detailed.session);
    }
    return holders;
  };
  return {
    prefix,
    keys,
    plain,
    trailing,
    valueWithChildren: { parent, child },
    session: { id, name, keys: held },
    lock,
    semaphore,
    sessions,
    async stop() {
      await Promise.all([lock.stop(), semaphore.stop()]);
    },
  };
}

/** What `writeEtcdFixture` wrote. */
export interface EtcdFixture {
  prefix: string;
  /** Keys every v2 listing shows, with their values. */
  listed: FixtureValue[];
  /** Keys with a `_` segment: etcd hides them from every listing, a direct read finds them. */
  hidden: FixtureValue[];
  /** `ttl`: a key with a TTL; `tdir`: a directory with a TTL, holding `tdir/k`. */
  ttlSeconds: number;
  /** Empty directories (`emptydir`, from `etcdctl mkdir`). */
  emptyDirs: string[];
}

/**
 * Writes the etcd fixture below `prefix` with etcdctl (ETCDCTL_API=2): text values, `mk`, `_` keys,
 * keys that need escaping, a key with a TTL and a directory with a TTL, an empty directory.
 * etcdctl cannot write bytes that are not UTF-8: etcd v2 speaks JSON, and answers U+FFFD for them.
 */
export async function writeEtcdFixture(
  etcdctl: Etcdctl,
  prefix: string,
  options: { ttlSeconds?: number } = {},
): Promise<EtcdFixture> {
  const at = (key: string): string => `${prefix}/${key}`;
  const ttlSeconds = options.ttlSeconds ?? 600;
  const listed: FixtureValue[] = [...COMMON];
  for (const entry of COMMON) await etcdctl.set(at(entry.key), entry.value.toString('utf8'));
  const made = { key: 'made', value: text('by mk'), flags: 0n };
  if (!(await etcdctl.mk(at(made.key), made.value.toString('utf8')))) throw new Error('mk found a key');
  listed.push(made);
  const visible = { key: 'dir/visible', value: text('v'), flags: 0n };
  await etcdctl.set(at(visible.key), 'v');
  listed.push(visible);
  const hidden = [
    { key: '_hidden', value: text('h'), flags: 0n },
    { key: 'dir/_under', value: text('u'), flags: 0n },
  ];
  for (const entry of hidden) await etcdctl.set(at(entry.key), entry.value.toString('utf8'));
  const ttl = { key: 'ttl', value: text('expires'), flags: 0n };
  await etcdctl.set(at(ttl.key), 'expires', { ttl: ttlSeconds });
  await etcdctl.mkdir(at('tdir'), { ttl: ttlSeconds });
  const inTtlDir = { key: 'tdir/k', value: text('in a directory with a TTL'), flags: 0n };
  await etcdctl.set(at(inTtlDir.key), inTtlDir.value.toString('utf8'));
  listed.push(ttl, inTtlDir);
  await etcdctl.mkdir(at('emptydir'));
  return { prefix, listed, hidden, ttlSeconds, emptyDirs: ['emptydir'] };
}
