import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import {
  Debouncer,
  isPolykvError,
  loadConfig,
  normalizeKey,
  type DebounceWait,
  type LiveConfig,
} from '@polykv/core';
import { CliError, ExitCode, Interrupted, UsageError } from '../errors.js';
import { flag, listOption, stringOption, urlOption, type Command, type Context } from '../command.js';
import type { ByteStore } from '../bytes.js';

/** How long a child gets after SIGTERM (restart, Ctrl-C) before SIGKILL. */
const KILL_GRACE_MS = 5000;

/** How keys become variable names; see the command's help. */
export interface NameRules {
  sanitize: boolean;
  upcase: boolean;
  noPrefix: boolean;
}

/** The variable name of `key` found under `prefix`, or why it has none. */
export function envName(key: string, prefix: string, rules: NameRules): { name: string } | { why: string } {
  const path = rules.noPrefix ? (prefix === '' ? key : key.slice(prefix.length + 1)) : key;
  if (path === '') return { why: 'the key is the prefix itself (--no-prefix leaves no name)' };
  let name = path.split('/').join('_');
  if (rules.sanitize) {
    name = name.replace(/[^A-Za-z0-9_]/g, '_');
    if (/^[0-9]/.test(name)) name = `_${name}`;
  }
  if (rules.upcase) name = name.toUpperCase();
  if (name.includes('=')) return { why: `"${name}" holds "=" (--sanitize replaces it)` };
  return { name };
}

/** The variables of every prefix's values (later prefixes win), and what could not be one. */
export function buildEnvironment(
  snapshots: readonly { prefix: string; values: ReadonlyMap<string, unknown> }[],
  rules: NameRules,
): { vars: Map<string, string>; problems: string[] } {
  const vars = new Map<string, string>();
  const problems: string[] = [];
  for (const { prefix, values } of snapshots) {
    const from = new Map<string, string>();
    for (const key of [...values.keys()].sort()) {
      const value = values.get(key);
      const named = envName(key, prefix, rules);
      if ('why' in named) {
        problems.push(`${key}: no variable: ${named.why}`);
        continue;
      }
      const text = asText(value);
      if (text === undefined) {
        problems.push(`${key}: no variable: the value is not UTF-8 text`);
        continue;
      }
      if (text.includes('\0')) {
        problems.push(`${key}: no variable: the value holds a NUL byte`);
        continue;
      }
      const earlier = from.get(named.name);
      if (earlier !== undefined) problems.push(`${named.name}: from ${earlier} and ${key}; ${key} wins`);
      from.set(named.name, key);
      vars.set(named.name, text);
    }
  }
  return { vars, problems };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A value as text: the CLI's stores carry bytes, and only UTF-8 bytes make a variable. */
function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (!(value instanceof Uint8Array)) return undefined;
  try {
    return strictUtf8.decode(value);
  } catch {
    return undefined;
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `--wait min[:max]`, each a duration with a unit (`500ms`, `2s`, `1m`). */
export function parseWait(text: string, command: string): Required<DebounceWait> {
  const parse = (part: string): number => {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(part.trim());
    if (part.trim() === '0') return 0;
    if (!match)
      throw new UsageError(
        `--wait takes min[:max] durations with a unit (e.g. 2s:10s, 500ms), got ${JSON.stringify(text)}`,
        command,
      );
    return Number(match[1]) * UNITS[match[2]!]!;
  };
  const [minText = '', maxText, extra] = text.split(':');
  if (extra !== undefined)
    throw new UsageError(`--wait takes min[:max], got ${JSON.stringify(text)}`, command);
  const min = parse(minText);
  const max = maxText === undefined ? 4 * min : parse(maxText);
  if (max < min)
    throw new UsageError(`--wait: max must not be below min, got ${JSON.stringify(text)}`, command);
  return { min, max };
}

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (signal) return 128 + (constants.signals[signal] ?? 0);
  return code ?? ExitCode.FAILURE;
}

function sameVars(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, value] of a) if (b.get(name) !== value) return false;
  return true;
}

export const exec: Command = {
  name: 'exec',
  summary: 'run a command with environment variables from keys; restart or signal it on change',
  usage:
    'exec --prefix p [--prefix p ...] [--sanitize] [--upcase] [--no-prefix] [--restart | --signal SIG] [--wait min[:max]] [--once] [--url U] -- <cmd> [args...]',
  description:
    "Runs <cmd> with one environment variable per key below each --prefix, added to polykv's own\n" +
    'environment, and exits with its exit code (128+n if a signal n ended it). When keys change it\n' +
    'restarts <cmd> with the new variables (--restart, the default: SIGTERM, SIGKILL 5 s later, then\n' +
    'start again), or sends it a signal (--signal HUP: the running process keeps its environment,\n' +
    'which cannot change from outside; use it for programs that re-read their configuration on a\n' +
    'signal). A change waits --wait: min of quiet (each further change starts it again), at most max\n' +
    'after the first change (default max: 4 x min), so a burst of writes gives one restart.\n' +
    'A change that leaves every variable as it was does nothing. --once: run <cmd> once, no watching.\n' +
    '\n' +
    'Names: the key\'s path with "/" as "_" (app/db/host -> app_db_host); --upcase: APP_DB_HOST;\n' +
    '--no-prefix: the path below the --prefix it came from (db_host); --sanitize: every character\n' +
    'but A-Z a-z 0-9 _ becomes _, and a leading digit gets a _ before it. A later --prefix wins over\n' +
    'an earlier one for the same name; two keys of one prefix with one name: the last in key order\n' +
    'wins (named on stderr). A key that can give no variable (a name with "=", a value with a NUL) is\n' +
    'named on stderr and left out.\n' +
    '\n' +
    'Ctrl-C and SIGTERM are passed on to <cmd>; polykv exits when it does, with its code. When the\n' +
    'store cannot be reached, <cmd> keeps running with the last good environment, and stderr says\n' +
    'so (and again when the store answers). If the watch fails for good, <cmd> is stopped and polykv\n' +
    'exits with 1.',
  options: {
    url: urlOption,
    prefix: { type: 'string', value: 'p', multiple: true, help: 'a directory whose keys become variables' },
    sanitize: { type: 'boolean', help: 'replace characters other than A-Z a-z 0-9 _ in names with _' },
    upcase: { type: 'boolean', help: 'upper-case the names' },
    'no-prefix': { type: 'boolean', help: 'names from the path below the --prefix, not below the root' },
    restart: { type: 'boolean', help: 'on change, restart <cmd> with the new environment (the default)' },
    signal: {
      type: 'string',
      value: 'SIG',
      help: 'on change, send <cmd> this signal instead (HUP, SIGUSR1...)',
    },
    wait: {
      type: 'string',
      value: 'min[:max]',
      help: 'debounce changes: min of quiet, at most max after the first (default 1s:4s)',
    },
    once: { type: 'boolean', help: 'run <cmd> once with the current keys; do not watch' },
  },
  args: { min: 0, max: 0, names: '' },
  passThrough: true,
  ownsInterrupt: true,
  exitCodes: [
    "n    <cmd>'s own exit code (128+n if signal n ended it)",
    '1    the keys could not be read, or the watch failed for good',
    '127  <cmd> could not be run',
    '130  a second Ctrl-C: polykv exits at once (143: SIGTERM), without waiting for <cmd>',
  ],
  examples: [
    'polykv exec --url consul://127.0.0.1:8500 --prefix app --upcase -- ./server   # APP_DB_HOST=...',
    'polykv exec --prefix app/common --prefix app/prod --no-prefix --sanitize --upcase --wait 2s:10s -- ./server',
    'polykv exec --prefix app --signal HUP --url etcd://127.0.0.1:2379 -- nginx -g "daemon off;"',
  ],
  async run(context) {
    const [command, ...args] = context.rest;
    if (command === undefined) throw new UsageError('exec needs a command after --', context.name);
    const prefixes = listOption(context, 'prefix').map((prefix) =>
      normalizeKey(prefix, { root: true, argument: 'prefix' }),
    );
    if (prefixes.length === 0) throw new UsageError('exec needs at least one --prefix', context.name);
    const signalName = stringOption(context, 'signal');
    if (signalName !== undefined && flag(context, 'restart'))
      throw new UsageError('--restart and --signal exclude each other', context.name);
    const reload = signalName === undefined ? undefined : signalOf(signalName, context.name);
    const wait = parseWait(stringOption(context, 'wait') ?? '1s', context.name);
    const rules: NameRules = {
      sanitize: flag(context, 'sanitize'),
      upcase: flag(context, 'upcase'),
      noPrefix: flag(context, 'no-prefix'),
    };
    const store = await context.openDefault();
    const runner = new ChildRunner(context, command, args);
    if (flag(context, 'once')) {
      const snapshots = await Promise.all(
        prefixes.map(async (prefix) => {
          const values = new Map<string, unknown>();
          const entries = await store.list(prefix, {
            signal: context.signal,
            recursive: true,
            consistent: true,
          });
          for (const entry of entries) if (!entry.dir) values.set(entry.key, entry.value);
          return { prefix, values };
        }),
      );
      return runner.run(environment(context, snapshots, rules), undefined);
    }
    return watchAndRun(context, store, prefixes, rules, wait, reload, runner);
  },
};

function signalOf(name: string, command: string): NodeJS.Signals {
  const full = (
    name.toUpperCase().startsWith('SIG') ? name.toUpperCase() : `SIG${name.toUpperCase()}`
  ) as NodeJS.Signals;
  if (!(full in constants.signals))
    throw new UsageError(`--signal: unknown signal ${JSON.stringify(name)}`, command);
  return full;
}

/** The variables, with each key that gives none named on stderr (once per problem). */
function environment(
  context: Context,
  snapshots: readonly { prefix: string; values: ReadonlyMap<string, unknown> }[],
  rules: NameRules,
  told?: Set<string>,
): Map<string, string> {
  const { vars, problems } = buildEnvironment(snapshots, rules);
  for (const problem of problems) {
    if (told?.has(problem)) continue;
    told?.add(problem);
    context.io.stderr.write(`polykv exec: ${problem}\n`);
  }
  return vars;
}

async function watchAndRun(
  context: Context,
  store: ByteStore,
  prefixes: string[],
  rules: NameRules,
  wait: Required<DebounceWait>,
  reload: NodeJS.Signals | undefined,
  runner: ChildRunner,
): Promise<number> {
  const { stderr } = context.io;
  let down = 0;
  let startOutage = false;
  const lives: LiveConfig[] = [];
  const told = new Set<string>();
  try {
    // Each prefix publishes whole snapshots (a re-read is applied whole); exec's own debounce then
    // turns a burst across every prefix into one restart.
    const box: { debouncer?: Debouncer } = {};
    for (const prefix of prefixes) {
      const live = await loadConfig(store, prefix, {
        watch: true,
        wait: { min: 0, max: 0 },
        signal: context.signal,
        onChange: () => box.debouncer?.poke(),
        onDisconnected: (cause) => {
          if (lives.length === prefixes.length || startOutage) return;
          startOutage = true;
          stderr.write(`polykv exec: waiting for the store (${describe(cause)})\n`);
        },
      });
      lives.push(live);
    }
    const snapshot = (): Map<string, string> =>
      environment(
        context,
        lives.map((live, i) => ({ prefix: prefixes[i]!, values: live.values })),
        rules,
        told,
      );
    for (const live of lives) {
      live.on('disconnected', (cause) => {
        if (down++ === 0)
          stderr.write(
            `polykv exec: the store is unreachable (${describe(cause)}); ${runner.name} keeps running with the last good environment\n`,
          );
      });
      live.on('connected', () => {
        down = Math.max(0, down - 1);
        if (down === 0) stderr.write('polykv exec: the store answers again\n');
      });
      live.on('error', (error) => runner.fail(error));
    }
    const debouncer = new Debouncer(() => {
      const vars = snapshot();
      if (sameVars(vars, runner.vars)) return;
      if (reload) {
        runner.vars = vars;
        stderr.write(`polykv exec: keys changed; sending ${reload} to ${runner.name}\n`);
        runner.signal(reload);
      } else {
        stderr.write(`polykv exec: keys changed; restarting ${runner.name}\n`);
        runner.restart(vars);
      }
    }, wait);
    box.debouncer = debouncer;
    try {
      return await runner.run(snapshot(), debouncer);
    } finally {
      debouncer.cancel();
    }
  } finally {
    await Promise.all(lives.map((live) => live.close().catch(() => undefined)));
  }
}

function describe(error: unknown): string {
  if (isPolykvError(error)) return `${error.code}: ${error.message.split('\n')[0]}`;
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

/** The child: started, restarted with new variables, signalled, stopped; its exit is polykv's. */
class ChildRunner {
  readonly name: string;
  vars = new Map<string, string>();
  readonly #context: Context;
  readonly #command: string;
  readonly #args: readonly string[];
  #child: ChildProcess | undefined;
  #next: Map<string, string> | undefined;
  #failure: unknown;
  #killTimer: NodeJS.Timeout | undefined;
  #done!: (code: number | Error) => void;

  constructor(context: Context, command: string, args: readonly string[]) {
    this.#context = context;
    this.#command = command;
    this.#args = args;
    this.name = command;
  }

  /** Runs until the child ends on its own (or after Ctrl-C); resolves its exit code. */
  async run(vars: Map<string, string>, debouncer: Debouncer | undefined): Promise<number> {
    const ended = new Promise<number | Error>((resolve) => (this.#done = resolve));
    const forward = (): void => {
      debouncer?.cancel();
      this.#next = undefined;
      const reason: unknown = this.#context.signal.reason;
      this.#stop(reason instanceof Interrupted ? reason.signalName : 'SIGTERM');
    };
    this.#context.signal.addEventListener('abort', forward, { once: true });
    try {
      this.#start(vars);
      const outcome = await ended;
      if (outcome instanceof Error) throw outcome;
      if (this.#failure !== undefined) throw this.#failure;
      return outcome;
    } finally {
      this.#context.signal.removeEventListener('abort', forward);
      clearTimeout(this.#killTimer);
    }
  }

  restart(vars: Map<string, string>): void {
    this.#next = vars;
    this.#stop('SIGTERM');
  }

  signal(signal: NodeJS.Signals): void {
    if (this.#running()) this.#child!.kill(signal);
  }

  /** The watch failed for good: stop the child; polykv exits with 1 once it has. */
  fail(error: unknown): void {
    this.#failure = error;
    this.#next = undefined;
    this.#context.io.stderr.write(
      `polykv exec: the watch failed (${describe(error)}); stopping ${this.name}\n`,
    );
    this.#stop('SIGTERM');
  }

  #running(): boolean {
    const child = this.#child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  #start(vars: Map<string, string>): void {
    this.vars = vars;
    const child = spawn(this.#command, this.#args, {
      stdio: 'inherit',
      env: { ...this.#context.config.env, ...Object.fromEntries(vars) },
    });
    this.#child = child;
    child.once('error', (error: NodeJS.ErrnoException) => {
      const notFound = error.code === 'ENOENT';
      this.#done(
        new CliError(
          error.code ?? 'SPAWN_FAILED',
          `cannot run ${JSON.stringify(this.#command)}: ${notFound ? 'command not found' : error.message}`,
          notFound ? ExitCode.CANNOT_RUN : 126,
          { cause: error },
        ),
      );
    });
    child.once('exit', (code, signal) => {
      clearTimeout(this.#killTimer);
      this.#killTimer = undefined;
      const next = this.#next;
      this.#next = undefined;
      if (next && !this.#context.signal.aborted && this.#failure === undefined) this.#start(next);
      else this.#done(exitCodeOf(code, signal));
    });
  }

  #stop(signal: NodeJS.Signals): void {
    if (!this.#running()) return;
    this.#child!.kill(signal);
    const child = this.#child!;
    this.#killTimer ??= setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
  }
}
