import { copy as copyStores, parseStoreUrl, type CopyOptions, type CopySummary } from '@polykv/core';
import { describeError, plural } from '../bytes.js';
import { ExitCode, UsageError } from '../errors.js';
import { ProgressBar } from '../progress.js';
import { flag, intOption, stringOption, write, type Command } from '../command.js';

/** The summary: one headline, then one line per key that needs attention. */
export function formatSummary(summary: CopySummary): string {
  const reasons = { same: 0, exists: 0, expired: 0 };
  for (const skip of summary.skipped) reasons[skip.reason]++;
  const adjusted = summary.adjusted;
  const copied = `${plural(summary.copied.length, 'key')} and ${plural(summary.dirs.length, 'empty directory', 'empty directories')}`;
  const lines = [
    `${summary.dryRun ? 'dry run, nothing written: would copy' : 'copied'} ${copied}` +
      (adjusted.length > 0 ? ` (${adjusted.length} adjusted)` : '') +
      `; skipped ${summary.skipped.length}` +
      ` (${reasons.same} already the same, ${reasons.exists} hold another value, ${reasons.expired} expired);` +
      ` ${summary.dryRun ? 'would fail' : 'failed'} ${summary.failed.length}`,
  ];
  for (const skip of summary.skipped)
    if (skip.reason === 'exists')
      lines.push(`  exists  ${skip.key}  (another value; --overwrite replaces it)`);
  for (const { key, note } of adjusted) lines.push(`  adjusted  ${key}  ${note}`);
  for (const failure of summary.failed)
    lines.push(
      `  ${summary.dryRun ? 'would fail' : 'failed'}  ${failure.key}  ${describeError(failure.error)}`,
    );
  return `${lines.join('\n')}\n`;
}

export const copy: Command = {
  name: 'copy',
  aliases: ['migrate'],
  summary: 'copy every key from one store to another, with a progress bar',
  usage:
    'copy --from U --to U [--prefix p] [--dry-run] [--overwrite] [--drop-flags] [--concurrency n] [--json]',
  description:
    'Copies every key below --prefix (default: everything) from one store to another: values byte for\n' +
    'byte, flags, empty directories, and the remaining TTL of keys that have one (rounded up, raised\n' +
    "to the target's minimum: listed as adjusted). Keys the target already holds with the same value\n" +
    'are skipped, so running it again finishes an interrupted copy. Keys the target holds with another\n' +
    'value are skipped and listed unless --overwrite. Every key that cannot be carried as it is (bytes\n' +
    'etcd cannot hold, flags into etcd without --drop-flags, a key the source holds but cannot list) is\n' +
    'listed as failed with the reason. A progress bar goes to stderr, the summary to stdout. Exits with\n' +
    '1 if any key failed.',
  options: {
    from: { type: 'string', value: 'U', help: 'the source store URL' },
    to: { type: 'string', value: 'U', help: 'the target store URL' },
    prefix: { type: 'string', value: 'p', help: 'copy only this directory (same path on both sides)' },
    'dry-run': { type: 'boolean', help: 'report what would be copied; write nothing' },
    overwrite: { type: 'boolean', help: 'replace target keys that hold another value' },
    'drop-flags': {
      type: 'boolean',
      help: 'copy values with flags into a store without flags, without them',
    },
    concurrency: { type: 'string', value: 'n', help: 'requests in flight per store (default 16)' },
    json: { type: 'boolean', help: 'print the summary as JSON' },
  },
  args: { min: 0, max: 0, names: '' },
  exitCodes: ['1  at least one key failed (listed in the summary)'],
  examples: [
    'polykv copy --from etcd://127.0.0.1:2379 --to consul://127.0.0.1:8500 --prefix app',
    'polykv migrate --from etcd://10.0.0.1:2379,10.0.0.2:2379/app --to consul://10.0.0.9:8500/app --dry-run',
  ],
  async run(context) {
    const from = stringOption(context, 'from');
    const to = stringOption(context, 'to');
    if (from === undefined || to === undefined)
      throw new UsageError(`${context.name} needs --from <url> and --to <url>`, context.name);
    const concurrency = intOption(context, 'concurrency', 1);
    const prefix = stringOption(context, 'prefix');
    const dryRun = flag(context, 'dry-run');
    const source = await context.open(from);
    const target = await context.open(to);
    const where = prefix ? ` (prefix ${prefix})` : '';
    context.io.stderr.write(
      `${dryRun ? 'checking' : 'copying'} ${parseStoreUrl(from).redacted} -> ${parseStoreUrl(to).redacted}${where}\n`,
    );
    const bar = new ProgressBar(context.io.stderr, dryRun ? 'checking' : 'copying');
    const options: CopyOptions = {
      signal: context.signal,
      dryRun,
      overwrite: flag(context, 'overwrite'),
      ...(flag(context, 'drop-flags') ? { dropFlags: true } : {}),
      ...(prefix !== undefined ? { prefix } : {}),
      ...(concurrency !== undefined ? { concurrency } : {}),
      onProgress: (progress) =>
        bar.update({
          done: progress.done,
          total: progress.total,
          detail: dryRun
            ? `would copy ${progress.copied}, would skip ${progress.skipped}, would fail ${progress.failed}`
            : `copied ${progress.copied}, skipped ${progress.skipped}, failed ${progress.failed}`,
        }),
    };
    let summary: CopySummary;
    try {
      summary = await copyStores(source, target, options);
      if (!bar.drawn) bar.update({ done: 0, total: 0, detail: 'nothing to copy' });
    } finally {
      bar.finish();
    }
    if (flag(context, 'json')) {
      const plain = {
        ...summary,
        failed: summary.failed.map(({ key, error }) => ({ key, error: describeError(error) })),
      };
      await write(context.io.stdout, `${JSON.stringify(plain)}\n`);
    } else await write(context.io.stdout, formatSummary(summary));
    return summary.failed.length > 0 ? ExitCode.FAILURE : ExitCode.OK;
  },
};
