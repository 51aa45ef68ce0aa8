import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveBinary } from '@polykv/testing';
import { makeDir, ManagedProcess, repoPath, waitUntil } from './processes.js';

// The official command-line tools, driven against the test servers: Consul's own CLI (the `consul`
// binary the servers run) and etcdctl 3.4 in v2 mode (Debian's etcd-client, installed beside the
// servers by @polykv/testing's installServers). The interop tests use them to write data the way other
// people's tools do, and to read back what polykv wrote. Output is kept as bytes.

/** What a tool printed and how it ended. */
export interface ToolResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** A tool exited with a code other than 0 where the caller expected success. */
export class ToolError extends Error {
  constructor(
    readonly command: string,
    readonly result: ToolResult,
  ) {
    super(`${command} exited with ${result.code ?? result.signal}: ${result.stderr.trim()}`);
  }

  override get name(): string {
    return 'ToolError';
  }
}

/** Runs a binary to its end; never throws for a non-zero exit (the caller decides). */
export function runTool(
  binary: string,
  args: readonly string[],
  options: { input?: Uint8Array | string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    // The ecosystems' variables of the developer's shell must not redirect a test's tool.
    const env: Record<string, string | undefined> = { ...process.env };
    for (const name of Object.keys(env))
      if (name.startsWith('CONSUL_') || name.startsWith('ETCDCTL_')) delete env[name];
    const child = spawn(binary, args, {
      env: { ...env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // A generous deadline against a hung tool; tests never assert on timing.
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(stdout), stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

function checked(command: string, result: ToolResult): ToolResult {
  if (result.code !== 0) throw new ToolError(command, result);
  return result;
}

/** A file with exactly `bytes` in it, for `consul kv put key @file`. */
function tempFile(bytes: Uint8Array | string): string {
  const file = join(makeDir('tool-input'), randomUUID());
  writeFileSync(file, bytes);
  return file;
}

/** `value` without the one newline `consul kv get` and `etcdctl get` print after it. */
function chomp(output: Buffer): Buffer {
  return output.length > 0 && output[output.length - 1] === 0x0a ? output.subarray(0, -1) : output;
}

/** The fields of `consul kv get -detailed`. */
export interface ConsulDetailed {
  createIndex: number;
  modifyIndex: number;
  lockIndex: number;
  flags: bigint;
  key: string;
  /** The holding session's id, or undefined (`-`). */
  session: string | undefined;
  value: Buffer;
}

/** `consul lock` running as a child process: it holds the lock while its command runs. */
export class ConsulLockProcess extends ManagedProcess {
  constructor(
    binary: string,
    args: string[],
    workDir: string,
    /** A file the locked command creates once it runs, i.e. once the lock is held. */
    readonly marker: string,
  ) {
    super('consul-lock', binary, args, workDir);
  }

  /** Resolves once `consul lock` holds the lock and runs its command. */
  async waitHeld(timeoutMs = 60_000): Promise<void> {
    await waitUntil(
      async () => {
        if (!this.running) throw new Error('consul lock exited');
        return existsSync(this.marker);
      },
      timeoutMs,
      () => `consul lock to run its command:\n${this.tail()}`,
    );
    if (!this.running) throw new Error(`consul lock exited:\n${this.tail()}`);
  }
}

/** Consul's CLI (`consul kv ...`, `consul lock`) against one agent. */
export class ConsulCli {
  readonly binary = resolveBinary('consul');

  constructor(readonly agent: { address: string; token?: string | undefined }) {}

  /** The API flags every subcommand takes: the agent and the token, never the environment. */
  get apiFlags(): string[] {
    return [`-http-addr=${this.agent.address}`, ...(this.agent.token ? [`-token=${this.agent.token}`] : [])];
  }

  /** `consul <subcommand...> <api flags> <args...>`, to its end. */
  run(
    subcommand: readonly string[],
    args: readonly string[],
    options: { input?: Uint8Array | string } = {},
  ): Promise<ToolResult> {
    return runTool(this.binary, [...subcommand, ...this.apiFlags, ...args], options);
  }

  /** `consul kv put [-flags N] key @file`: any bytes, exactly. */
  async kvPut(key: string, value: Uint8Array | string, options: { flags?: bigint | number } = {}) {
    const flags = options.flags !== undefined ? [`-flags=${options.flags}`] : [];
    checked(`consul kv put ${key}`, await this.run(['kv', 'put'], [...flags, key, `@${tempFile(value)}`]));
  }

  /** `consul kv get key`: the value's bytes, or null when there is no key. */
  async kvGet(key: string): Promise<Buffer | null> {
    const result = await this.run(['kv', 'get'], [key]);
    if (result.code !== 0 && /No key exists/.test(result.stderr)) return null;
    return chomp(checked(`consul kv get ${key}`, result).stdout);
  }

  /** `consul kv get -detailed key`, parsed; null when there is no key. */
  async kvGetDetailed(key: string): Promise<ConsulDetailed | null> {
    const result = await this.run(['kv', 'get'], ['-detailed', key]);
    if (result.code !== 0 && /No key exists/.test(result.stderr)) return null;
    return parseDetailed(checked(`consul kv get -detailed ${key}`, result).stdout);
  }

  /** `consul kv get -recurse -keys prefix`... as the key list of `consul kv export` (keys only). */
  async kvKeys(prefix: string): Promise<string[]> {
    const exported = JSON.parse((await this.kvExport(prefix)).toString('utf8')) as { key: string }[];
    return exported.map((entry) => entry.key);
  }

  /** `consul kv export prefix`: the bytes it prints. */
  async kvExport(prefix: string): Promise<Buffer> {
    return checked(`consul kv export ${prefix}`, await this.run(['kv', 'export'], [prefix])).stdout;
  }

  /** `consul kv import -` with `data` on stdin. */
  async kvImport(data: Uint8Array | string): Promise<void> {
    checked('consul kv import', await this.run(['kv', 'import'], ['-'], { input: data }));
  }

  /** `consul kv delete -recurse prefix`. */
  async kvDeleteTree(prefix: string): Promise<void> {
    checked(`consul kv delete -recurse ${prefix}`, await this.run(['kv', 'delete'], ['-recurse', prefix]));
  }

  /**
   * Starts `consul lock [-n N] prefix <cmd>` as a child process (stop it with `stop()`); the command
   * creates a marker file and then runs until `consul lock` goes away, so nothing outlives the test.
   * `waitHeld()` resolves once the lock is held.
   */
  lock(prefix: string, options: { n?: number } = {}): ConsulLockProcess {
    const workDir = makeDir(`consul-lock-${randomUUID().slice(0, 8)}`);
    const marker = join(workDir, 'held');
    // $PPID is `consul lock`: the command ends when it does (also after a SIGKILL).
    const command = `touch '${marker}' && while kill -0 $PPID 2>/dev/null; do sleep 0.2; done`;
    const args = [
      'lock',
      ...this.apiFlags,
      ...(options.n !== undefined ? [`-n=${options.n}`] : []),
      prefix,
      command,
    ];
    const child = new ConsulLockProcess(this.binary, args, workDir, marker);
    child.start();
    return child;
  }
}

/** Parses `consul kv get -detailed`: `Name<padding>value` lines, Value last (it may span lines). */
export function parseDetailed(output: Buffer): ConsulDetailed {
  const text = output.toString('latin1');
  const valueAt = text.search(/^Value( |\n|$)/m);
  // Every name is padded to one column (a tabwriter); the first line shows where it is.
  const column = /^CreateIndex +/.exec(text)?.[0].length;
  if (valueAt < 0 || column === undefined) throw new Error(`not consul kv get -detailed output: ${text}`);
  // An empty value is a bare `Value` line: the padding goes with it.
  const empty = !text.slice(valueAt, valueAt + column).startsWith(`Value${' '.repeat(column - 5)}`);
  const fields = new Map<string, string>();
  for (const line of text.slice(0, valueAt).split('\n')) {
    if (line === '') continue;
    fields.set(line.slice(0, column).trim(), line.slice(column));
  }
  const field = (name: string): string => {
    const value = fields.get(name);
    if (value === undefined) throw new Error(`no ${name} in consul kv get -detailed: ${text}`);
    return value;
  };
  const session = field('Session');
  return {
    createIndex: Number(field('CreateIndex')),
    modifyIndex: Number(field('ModifyIndex')),
    lockIndex: Number(field('LockIndex')),
    flags: BigInt(field('Flags')),
    key: Buffer.from(field('Key'), 'latin1').toString('utf8'),
    session: session === '-' ? undefined : session,
    value: empty ? Buffer.alloc(0) : chomp(output.subarray(valueAt + column)),
  };
}

/** A node of etcd's v2 JSON, as `etcdctl -o json` prints it. */
export interface EtcdNode {
  key: string;
  value?: string;
  dir?: boolean;
  ttl?: number;
  expiration?: string;
  modifiedIndex?: number;
  createdIndex?: number;
  nodes?: EtcdNode[] | null;
}

/** etcdctl 3.4 in v2 mode (`ETCDCTL_API=2`) against one etcd member (or a cluster). */
export class Etcdctl {
  readonly binary = resolveBinary('etcdctl');

  constructor(readonly endpoints: readonly string[]) {}

  /** `etcdctl --endpoints ... <args...>` with ETCDCTL_API=2, to its end. */
  run(args: readonly string[], options: { input?: Uint8Array | string } = {}): Promise<ToolResult> {
    const endpoints = this.endpoints.map((url) => (url.includes('://') ? url : `http://${url}`));
    return runTool(this.binary, ['--endpoints', endpoints.join(','), ...args], {
      ...options,
      env: { ETCDCTL_API: '2' },
    });
  }

  /** `etcdctl set key value [--ttl s]`. */
  async set(key: string, value: string, options: { ttl?: number } = {}): Promise<void> {
    const ttl = options.ttl !== undefined ? ['--ttl', String(options.ttl)] : [];
    // `--` keeps a value that starts with `-` a value.
    checked(`etcdctl set ${key}`, await this.run(['set', ...ttl, '--', key, value]));
  }

  /** `etcdctl mk key value`: create only; false when the key exists (etcd error 105). */
  async mk(key: string, value: string, options: { ttl?: number } = {}): Promise<boolean> {
    const ttl = options.ttl !== undefined ? ['--ttl', String(options.ttl)] : [];
    const result = await this.run(['mk', ...ttl, '--', key, value]);
    if (result.code !== 0 && /Key already exists/.test(result.stderr)) return false;
    checked(`etcdctl mk ${key}`, result);
    return true;
  }

  /** `etcdctl mkdir dir [--ttl s]`. */
  async mkdir(dir: string, options: { ttl?: number } = {}): Promise<void> {
    const ttl = options.ttl !== undefined ? ['--ttl', String(options.ttl)] : [];
    checked(`etcdctl mkdir ${dir}`, await this.run(['mkdir', ...ttl, '--', dir]));
  }

  /** `etcdctl get key`: the value's bytes (without the newline etcdctl adds), or null. */
  async get(key: string): Promise<Buffer | null> {
    const result = await this.run(['get', '--', key]);
    if (result.code !== 0 && /Key not found/.test(result.stderr)) return null;
    return chomp(checked(`etcdctl get ${key}`, result).stdout);
  }

  /**
   * The node as etcd returned it (value, ttl, indexes): `etcdctl -o json get key`, or for a
   * directory (which `get` refuses) `etcdctl -o json ls dir`.
   */
  async node(key: string): Promise<EtcdNode | null> {
    let result = await this.run(['-o', 'json', 'get', '--', key]);
    if (result.code !== 0 && /is a directory/.test(result.stderr))
      result = await this.run(['-o', 'json', 'ls', '--', key]);
    if (result.code !== 0 && /Key not found/.test(result.stderr)) return null;
    const text = checked(`etcdctl get ${key}`, result).stdout.toString('utf8');
    return (JSON.parse(text) as { node: EtcdNode }).node;
  }

  /** `etcdctl ls [-r] -p dir`: full keys, directories with a trailing `/`, sorted. */
  async ls(dir: string, options: { recursive?: boolean } = {}): Promise<string[]> {
    const result = await this.run(['ls', ...(options.recursive ? ['-r'] : []), '-p', '--', dir]);
    const text = checked(`etcdctl ls ${dir}`, result).stdout.toString('utf8');
    return text
      .split('\n')
      .filter((line) => line !== '')
      .sort();
  }

  /** `etcdctl rm -r dir` (nothing there is fine). */
  async rmTree(dir: string): Promise<void> {
    const result = await this.run(['rm', '-r', '--', dir]);
    if (result.code !== 0 && !/Key not found/.test(result.stderr)) checked(`etcdctl rm -r ${dir}`, result);
  }
}

/**
 * `polykv ...args` (the built CLI) to its end, stdout as bytes. The environment holds only what
 * `env` gives of the variables the CLI reads.
 */
export function runPolykv(
  args: readonly string[],
  options: { input?: Uint8Array | string; env?: Record<string, string> } = {},
): Promise<ToolResult> {
  const cli = new URL(repoPath('packages/cli/dist/main.js')).pathname;
  const own: Record<string, string> = {};
  for (const name of Object.keys(process.env))
    if (name.startsWith('POLYKV_') && name !== 'POLYKV_TEST_RUN') own[name] = '';
  return runTool(process.execPath, [cli, ...args], { ...options, env: { ...own, ...options.env } });
}
