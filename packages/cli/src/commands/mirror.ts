import {
  binaryCodec,
  checkpointUrl,
  isPolykvError,
  mirror as startMirror,
  openStore,
  parseStoreUrl,
  sourceIdentity,
  type KeyEvent,
  type Store,
} from '@polykv/core';
import { openOptions } from '../config.js';
import { ExitCode, UsageError } from '../errors.js';
import { ProgressBar } from '../progress.js';
import { flag, intOption, listOption, stringOption, write, type Command, type Context } from '../command.js';

function describeError(error: unknown): string {
  if (isPolykvError(error)) return `${error.code}: ${error.message.split('\n')[0]}`;
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

/** One applied change as a line: `put app/x (source index 12)`. */
function changeLine(event: KeyEvent<unknown>): string {
  const what = event.type === 'expire' ? 'delete' : event.type;
  const why = event.type === 'expire' ? 'expired on the source, ' : '';
  return `${what} ${event.key} (${why}source index ${event.index})`;
}

/** Opens a store for the mirror (raw bytes, so every value is carried byte for byte); closed by the caller. */
async function open(context: Context, url: string, bytes = true): Promise<Store<unknown>> {
  const options = openOptions(url, context.config);
  if (bytes) return openStore<Uint8Array>(url, { ...options, codec: binaryCodec });
  return openStore(url, options);
}

export const mirror: Command = {
  name: 'mirror',
  summary: 'copy a store to another, then follow every change until stopped (a replication daemon)',
  usage:
    'mirror --from U --to U [--prefix p] [--exclude p ...] [--delete] [--drop-flags] [--verbose] [--ha [--ttl s]] [--fresh]',
  description:
    'Copies every key below --prefix from one store to another (only keys that differ are written;\n' +
    'a progress bar on stderr), then carries every change of the source until Ctrl-C or SIGTERM, and\n' +
    'prints a summary. Values are carried byte for byte, with flags and TTLs (the rules of copy).\n' +
    '\n' +
    'Checkpoint: the last source index carried (with the source, --prefix, --exclude, --delete and\n' +
    "--drop-flags it was taken with) is kept in the target's reserved .polykv/ space (never listed or\n" +
    'watched), so a restarted mirror resumes from it without copying again and without missing a\n' +
    "change. When the source's history no longer reaches it (etcd keeps its last 1,000 events;\n" +
    'Consul keeps none, so a Consul source is always re-read), or the settings differ, the mirror\n' +
    're-reads both sides and writes only the differences. --fresh ignores the checkpoint.\n' +
    '\n' +
    'Deletions the source reports are always carried. A target key below the prefix that the source\n' +
    'does not hold (found by the first copy or a re-read) is deleted only with --delete; without it, it\n' +
    'is kept and listed (a re-read cannot tell a key deleted on a Consul source while no mirror ran\n' +
    'from a key only the target has). An --exclude path (a full key, like --prefix) and everything\n' +
    'below it is neither carried nor deleted.\n' +
    '\n' +
    '--ha: run several instances with the same --from, --to and --prefix; one is active (it holds a\n' +
    'lock on the target, renewed every --ttl/3 s), the others wait. Kill the active one and another\n' +
    'takes over once its lock expires (--ttl; Consul may take up to twice that, plus its lock delay),\n' +
    'resuming from the checkpoint: no change is lost. Writes are fenced: an instance writes only while\n' +
    "it holds the lock, each write is bounded, and the checkpoint carries the lock's fencing token.\n" +
    '\n' +
    'Keys the target cannot hold (flags into etcd, bytes etcd v2 cannot keep, a value with children\n' +
    'into etcd, a key etcd would hide) are named on stderr as "not carried" when met, listed again in\n' +
    'the summary, and make the exit code 1. --verbose prints one line per carried change on stdout.',
  options: {
    from: { type: 'string', value: 'U', help: 'the source store URL' },
    to: { type: 'string', value: 'U', help: 'the target store URL' },
    prefix: { type: 'string', value: 'p', help: 'mirror only this directory (same path on both sides)' },
    exclude: {
      type: 'string',
      value: 'p',
      multiple: true,
      help: 'leave out this key and everything below it (a full key below --prefix)',
    },
    delete: { type: 'boolean', help: 'delete target keys below the prefix that the source does not hold' },
    'drop-flags': {
      type: 'boolean',
      help: 'carry keys with Consul flags into a target without flags (etcd), without the flags',
    },
    verbose: { type: 'boolean', short: 'v', help: 'print one line per carried change on stdout' },
    ha: {
      type: 'boolean',
      help: 'one active instance among several (a lock on the target), the others wait',
    },
    ttl: {
      type: 'string',
      value: 's',
      help: 'with --ha: seconds the lock outlives a dead instance (default 15)',
    },
    fresh: {
      type: 'boolean',
      help: 'ignore the checkpoint: start with a full read (writes only differences)',
    },
    concurrency: { type: 'string', value: 'n', help: 'writes in flight (default 16)' },
  },
  args: { min: 0, max: 0, names: '' },
  ownsInterrupt: true,
  exitCodes: [
    '0    stopped by Ctrl-C or SIGTERM with every key carried',
    '1    some keys were not carried (listed in the summary), or the mirror failed',
    '130  a second Ctrl-C: polykv exits at once, without the summary (143: SIGTERM)',
  ],
  examples: [
    'polykv mirror --from consul://dc1.example:8500 --to consul://dc2.example:8500 --prefix app --verbose',
    'polykv mirror --from etcd://10.0.0.1:2379 --to consul://10.0.0.9:8500 --prefix app --exclude app/secrets --delete',
    'polykv mirror --from consul://dc1:8500 --to consul://dc2:8500 --prefix app --ha --ttl 10   # on two hosts',
  ],
  async run(context) {
    const fromUrl = stringOption(context, 'from');
    const toUrl = stringOption(context, 'to');
    if (fromUrl === undefined || toUrl === undefined)
      throw new UsageError('mirror needs --from <url> and --to <url>', context.name);
    const ha = flag(context, 'ha');
    const ttl = intOption(context, 'ttl', 1);
    if (ttl !== undefined && !ha) throw new UsageError('--ttl is the --ha lock TTL: add --ha', context.name);
    const concurrency = intOption(context, 'concurrency', 1);
    const prefix = stringOption(context, 'prefix') ?? '';
    const exclude = listOption(context, 'exclude');
    const verbose = flag(context, 'verbose');
    const { stdout, stderr } = context.io;
    const stores: Store<unknown>[] = [];
    try {
      const source = await open(context, fromUrl);
      stores.push(source);
      const target = await open(context, toUrl);
      stores.push(target);
      const checkpoint = await open(context, checkpointUrl(toUrl), false);
      stores.push(checkpoint);
      const running = startMirror(source, target, {
        prefix,
        exclude,
        delete: flag(context, 'delete'),
        dropFlags: flag(context, 'drop-flags'),
        checkpoint: { store: checkpoint, source: sourceIdentity(fromUrl), resume: !flag(context, 'fresh') },
        ...(ha ? { ha: { ...(ttl !== undefined ? { ttl } : {}) } } : {}),
        ...(concurrency !== undefined ? { concurrency } : {}),
      });
      const where = [
        prefix ? `prefix ${prefix}` : '',
        exclude.length > 0 ? `excluding ${exclude.join(', ')}` : '',
        flag(context, 'delete') ? 'deleting target-only keys' : '',
      ].filter((part) => part !== '');
      stderr.write(
        `mirroring ${parseStoreUrl(fromUrl).redacted} -> ${parseStoreUrl(toUrl).redacted}` +
          `${where.length > 0 ? ` (${where.join('; ')})` : ''}; Ctrl-C stops\n`,
      );
      const counts = { applied: 0, written: 0, same: 0, removed: 0 };
      const kept = new Set<string>();
      let checkpointAt: number | undefined;
      let bar: ProgressBar | undefined;
      let failing = false;
      const recovered = (): void => {
        if (failing) stderr.write('the target answers again\n');
        failing = false;
      };
      running.on('standby', () => stderr.write('standby: waiting for the mirror lock on the target\n'));
      running.on('active', (token) =>
        stderr.write(`active: holding the mirror lock (fencing token ${token})\n`),
      );
      running.on('lost', (error) =>
        stderr.write(`lost the mirror lock (${describeError(error)}): writes stopped, back to standby\n`),
      );
      running.on('start', (how) => {
        if ('resumedFrom' in how)
          stderr.write(`resuming from the checkpoint at source index ${how.resumedFrom}\n`);
        else stderr.write(`full read (${how.fullRead})\n`);
      });
      running.on('progress', (progress) => {
        bar ??= new ProgressBar(stderr, 'copying');
        bar.update({
          done: progress.done,
          total: progress.total,
          detail: `written ${progress.copied}, same ${progress.skipped}, not carried ${progress.failed}`,
        });
      });
      running.on('synced', (summary) => {
        bar?.finish();
        bar = undefined;
        recovered();
        const same = summary.skipped.filter((skip) => skip.reason === 'same').length;
        counts.written += summary.copied.length + summary.dirs.length;
        counts.same += same;
        stderr.write(
          `in sync: wrote ${summary.copied.length + summary.dirs.length}, ${same} already the same; following changes\n`,
        );
      });
      running.on('applied', (event) => {
        counts.applied++;
        recovered();
        if (verbose) stdout.write(`${changeLine(event)}\n`);
      });
      running.on('removed', (key) => {
        counts.removed++;
        if (verbose) stdout.write(`delete ${key} (not on the source)\n`);
      });
      running.on('kept', (key) => {
        kept.add(key);
        stderr.write(`kept ${key}: only on the target (--delete removes such keys)\n`);
      });
      running.on('adjusted', (key, note) => stderr.write(`adjusted ${key}: ${note}\n`));
      running.on('skipped', (key, error) => stderr.write(`not carried ${key}: ${describeError(error)}\n`));
      running.on('checkpoint', (index) => (checkpointAt = index));
      running.on('retry', (key, error) => {
        if (!failing) stderr.write(`retrying (${key || 'the tree'}): ${describeError(error)}\n`);
        failing = true;
      });
      let sourceDown = false;
      running.on('disconnected', (cause) => {
        sourceDown = true;
        stderr.write(`the source is unreachable (${describeError(cause)}); retrying\n`);
      });
      running.on('connected', () => {
        if (sourceDown) stderr.write('the source answers again\n');
        sourceDown = false;
      });
      let failure: unknown;
      running.on('error', (error) => (failure = error));
      const stop = (): void => void running.close();
      context.signal.addEventListener('abort', stop, { once: true });
      // Nothing else may hold the process open while a retry timer is all that is left.
      const keepAlive = setInterval(() => undefined, 2 ** 30);
      try {
        await running.closed.catch(() => undefined);
      } finally {
        clearInterval(keepAlive);
        context.signal.removeEventListener('abort', stop);
        bar?.finish();
      }
      const notCarried = [...running.notCarried];
      const lines = [
        `mirror stopped: ${counts.applied} changes carried, ${counts.written} keys written by full reads` +
          ` (${counts.same} already the same), ${counts.removed} target-only keys deleted, ${kept.size} kept;` +
          ` not carried ${notCarried.length}` +
          (checkpointAt !== undefined ? `; checkpoint at source index ${checkpointAt}` : ''),
        ...notCarried.map(
          ([key, { code, message }]) => `  not carried  ${key}  ${code}: ${message.split('\n')[0]}`,
        ),
      ];
      await write(stdout, `${lines.join('\n')}\n`);
      if (failure !== undefined) throw failure;
      return notCarried.length > 0 ? ExitCode.FAILURE : ExitCode.OK;
    } finally {
      await Promise.all(stores.map((store) => store.close({ timeout: 2000 }).catch(() => undefined)));
    }
  },
};
