import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { isPolykvError, type Lock } from '@polykv/core';
import { CliError, ExitCode, Interrupted, UsageError } from '../errors.js';
import { flag, intOption, urlOption, type Command } from '../command.js';

/** How long the command gets after SIGTERM (lock lost) before SIGKILL. */
const KILL_GRACE_MS = 5000;

type Outcome = { code: number | null; signal: NodeJS.Signals | null } | { error: NodeJS.ErrnoException };

export const lock: Command = {
  name: 'lock',
  summary: 'run a command while holding a lock',
  usage: 'lock <key> [-n N] [--ttl s] [--wait ms] [--consul-layout] [--url U] -- <cmd> [args...]',
  description:
    "Takes the lock <key>, runs <cmd> while holding it, releases it, and exits with the command's\n" +
    'exit code (128+n if a signal n ended it), always. (consul lock exits 0 whatever the command\n' +
    'did, and with -child-exit-code 2 for any failure: the code itself is lost.) The command gets\n' +
    'POLYKV_LOCK_KEY and POLYKV_FENCING_TOKEN (grows with every acquisition: pass it to what you\n' +
    'protect). If the lock is lost while the command runs (the store dropped it, or it could not be\n' +
    'renewed within --ttl), the command gets SIGTERM (SIGKILL 5 s later) and polykv exits with 4.\n' +
    'Ctrl-C is passed on to the command; then the lock is released. After the release nothing is\n' +
    'left behind: the lock key in .polykv/locks/ is deleted when nobody waits for it.\n' +
    'With -n N it takes one of N slots of the semaphore <key> (Store.semaphore, in .polykv/semaphores/;\n' +
    'on Consul in the layout of consul lock -n), so that at most N such commands run at once.\n' +
    'On Consul, --consul-layout holds <key> where consul lock [-n N] <key> holds it (the key\n' +
    '<key>/.lock, or the semaphore under <key>/), so that polykv lock and consul lock (and Go\n' +
    'services using api.Lock or api.Semaphore on it) exclude each other.',
  options: {
    url: urlOption,
    n: {
      type: 'string',
      value: 'N',
      short: 'n',
      help: 'a semaphore: at most N holders at once (consul lock -n); every holder must use the same N',
    },
    ttl: {
      type: 'string',
      value: 's',
      help: 'seconds the lock survives polykv going silent; renewed every ttl/3 (default 15)',
    },
    wait: {
      type: 'string',
      value: 'ms',
      help: 'give up (exit 4) after waiting this long for another holder; 0 tries once (default: wait forever)',
    },
    'consul-layout': {
      type: 'boolean',
      help: 'Consul only: hold <key> where consul lock [-n N] <key> does, so both exclude each other',
    },
  },
  args: { min: 1, max: 1, names: '<key>' },
  passThrough: true,
  exitCodes: [
    "n    the command's own exit code",
    '4    the lock was not acquired within --wait, or was lost while the command ran',
    '127  the command could not be run',
  ],
  examples: ['polykv lock jobs/nightly-report --wait 0 --url etcd://127.0.0.1:2379 -- ./report.sh --full'],
  async run(context) {
    const key = context.positionals[0]!;
    const [command, ...args] = context.rest;
    if (command === undefined) throw new UsageError('lock needs a command after --', context.name);
    const ttl = intOption(context, 'ttl', 1);
    const wait = intOption(context, 'wait', 0);
    const limit = intOption(context, 'n', 1);
    const consulLayout = flag(context, 'consul-layout');
    if (consulLayout && !/^consuls?:\/\//.test(context.url()))
      throw new UsageError('--consul-layout needs a consul:// or consuls:// store', context.name);
    // The Consul Store's options for Consul's own layout (consul lock: <key>/.lock; -n: <key>/).
    const layout: { consulKey?: string; consulPrefix?: string } = !consulLayout
      ? {}
      : limit === undefined
        ? { consulKey: `${key}/.lock` }
        : { consulPrefix: key };
    const store = await context.openDefault();
    let held: Lock;
    try {
      const options = {
        signal: context.signal,
        ...(ttl !== undefined ? { ttl } : {}),
        ...(wait !== undefined ? { wait } : {}),
        ...layout,
      };
      held =
        limit === undefined
          ? await store.lock(key, options)
          : await store.semaphore(key, { ...options, limit });
    } catch (error) {
      if (isPolykvError(error) && error.code === 'TIMEOUT' && !context.signal.aborted) {
        throw new CliError(
          'TIMEOUT',
          `lock ${key} not acquired: ${limit === undefined ? 'another holder has it' : `${limit} holders have it`} (waited ${wait ?? 'without limit, until a timeout'} ms)`,
          ExitCode.LOCK,
          { cause: error },
        );
      }
      throw error;
    }

    const child = spawn(command, args, {
      stdio: 'inherit',
      env: {
        ...context.config.env,
        POLYKV_LOCK_KEY: held.key,
        POLYKV_FENCING_TOKEN: String(held.fencingToken),
      },
    });
    let lost: Error | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (signal: NodeJS.Signals): void => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      killTimer ??= setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    };
    held.on('lost', (error) => {
      lost = error;
      stop('SIGTERM');
    });
    const forward = (): void => {
      const reason: unknown = context.signal.reason;
      stop(reason instanceof Interrupted ? reason.signalName : 'SIGTERM');
    };
    context.signal.addEventListener('abort', forward, { once: true });
    const outcome = await new Promise<Outcome>((resolve) => {
      child.once('error', (error) => resolve({ error }));
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    clearTimeout(killTimer);
    context.signal.removeEventListener('abort', forward);
    if (held.held) {
      try {
        await held.release({ timeout: 5000 });
      } catch (error) {
        const reason = isPolykvError(error) ? `${error.code}: ${error.message}` : String(error);
        context.io.stderr.write(
          `polykv: warning: releasing lock ${key} failed (${reason}); it expires with its TTL\n`,
        );
      }
    }
    if (lost) {
      throw new CliError(
        'LOCK_LOST',
        `lock ${key} was lost while the command ran${lost.message.startsWith('lock lost:') ? '' : ` (${lost.message})`}; the command was stopped`,
        ExitCode.LOCK,
        { cause: lost },
      );
    }
    if ('error' in outcome) {
      const notFound = outcome.error.code === 'ENOENT';
      throw new CliError(
        outcome.error.code ?? 'SPAWN_FAILED',
        `cannot run ${JSON.stringify(command)}: ${notFound ? 'command not found' : outcome.error.message}`,
        notFound ? ExitCode.CANNOT_RUN : 126,
        { cause: outcome.error },
      );
    }
    if (outcome.signal) return 128 + (constants.signals[outcome.signal] ?? 0);
    return outcome.code ?? ExitCode.FAILURE;
  },
};
