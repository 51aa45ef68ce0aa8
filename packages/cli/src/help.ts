import type { Command } from './command.js';
import { ENVIRONMENT } from './config.js';
import { commands } from './commands/index.js';

/** The exit codes, one table for every command (the README has the same). */
export const EXIT_CODES: readonly [code: string, meaning: string][] = [
  ['0', 'success (diff: the stores hold the same values)'],
  [
    '1',
    'failure; diff: the stores differ; copy/load/dump: some keys were not carried (each named); put/rm: a condition did not hold; mirror: some keys not carried',
  ],
  ['2', 'USAGE: unknown command or option, missing or bad argument'],
  ['3', 'NOT_FOUND: get, rm, rmdir or put/rm --prev-* of a missing key'],
  ['4', 'lock busy: not acquired within --wait (TIMEOUT), or lost while the command ran (LOCK_LOST)'],
  ['n', "lock, exec: the command's own exit code (128+n when signal n ended it)"],
  ['127', 'lock, exec, watch --exec: the command could not be run (not found)'],
  ['130', 'interrupted (Ctrl-C; 143 for SIGTERM); also how watch ends (mirror, exec: their own code)'],
];

/**
 * The codes of the CLI's own error lines (`polykv: <CODE>: ...`); the Store's codes (UNAVAILABLE,
 * PERMISSION_DENIED...) are in the README's Errors table.
 */
export const CLI_ERROR_CODES: readonly [code: string, meaning: string][] = [
  ['USAGE', 'a bad command line (exit 2)'],
  ['NOT_FOUND', 'get or rm found nothing at the key (exit 3)'],
  ['TIMEOUT', 'lock: another holder kept the lock past --wait (exit 4)'],
  ['LOCK_LOST', 'lock: the lock was lost while the command ran (exit 4)'],
  ['BAD_INPUT', 'load: the input is not a dump; put: --base64 value is not base64'],
  [
    'ALREADY_EXISTS',
    'put --create-only (or --prev-index 0), mkdir: something is there; nothing written (exit 1)',
  ],
  ['COMPARE_FAILED', 'put/rm --prev-value, --prev-index: the key changed; nothing written (exit 1)'],
  ['IS_A_DIRECTORY', 'rmdir: the directory is not empty; rm: a directory without -r (exit 1)'],
  ['NOT_A_DIRECTORY', 'rmdir: the key holds a value (exit 1)'],
  ['NOT_SUPPORTED', 'the store cannot do it (put --flags on etcd)'],
  ['ENOENT, EACCES, ...', "a file could not be read or a command not run: the system's own code"],
];

function table(rows: readonly (readonly [string, string])[], indent = 2): string {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `${' '.repeat(indent)}${left.padEnd(width)}  ${right}`).join('\n');
}

export function mainHelp(version: string): string {
  const rows = commands.map(
    (command) =>
      [
        command.name + (command.aliases?.length ? ` (${command.aliases.join(', ')})` : ''),
        command.summary,
      ] as const,
  );
  return `polykv ${version}: one command for etcd v2, Consul and memory:// key-value stores

Usage: polykv <command> [arguments] [options]
       polykv <command> --help     the command's arguments, options and examples

Commands:
${table(rows)}

Store URLs (--url, --from, --to; else POLYKV_URL, else CONSUL_HTTP_ADDR or ETCDCTL_ENDPOINTS):
  etcd://host:2379[,host2:2379]/prefix   etcd v2 (etcds:// for TLS; user:password@ for basic auth)
  consul://host:8500/prefix?dc=dc1       Consul (consuls:// for TLS; token from CONSUL_HTTP_TOKEN)
  memory://                              an in-memory store (this process only)
  The path is a prefix: every key lives below it. Values are bytes: every command carries them
  as they are, and prints text only where it is UTF-8 (else base64, by name).

Options of every command:
  -h, --help     the command's help
      --verbose  say on stderr which store URL, token source and TLS files are used (secrets masked)

Environment:
${table(ENVIRONMENT)}

Exit codes:
${table(EXIT_CODES)}

Errors are one line on stderr: polykv: <CODE>: <message> (POLYKV_DEBUG=1 adds the stack trace).
Besides the store's codes (UNAVAILABLE, PERMISSION_DENIED, UNREPRESENTABLE, ...: see the README):
${table(CLI_ERROR_CODES)}
`;
}

export function commandHelp(command: Command): string {
  const options = Object.entries(command.options).map(
    ([name, spec]) =>
      [
        `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.value ? ` ${spec.value}` : ''}`,
        spec.multiple ? `${spec.help} (repeatable)` : spec.help,
      ] as const,
  );
  options.push(
    ['-h, --help', 'show this help'],
    ['    --verbose', 'say which store URL and credentials are used'],
  );
  const aliases = command.aliases?.length
    ? `\nAlias: ${command.aliases.map((a) => `polykv ${a}`).join(', ')}\n`
    : '';
  const specific = (command.exitCodes ?? []).map((line) => {
    const [code = '', ...rest] = line.trim().split(/\s+/);
    return [code, rest.join(' ')] as const;
  });
  const has = (code: string): boolean => specific.some(([own]) => own === code);
  const order = (code: string): number => (/^\d+$/.test(code) ? Number(code) : 0.5);
  const exits = [
    ['0', 'success'] as const,
    ...(has('1') ? [] : [['1', 'failure'] as const]),
    ...specific,
    ['2', 'usage error (USAGE)'] as const,
    ...(has('130') ? [] : [['130', 'interrupted (Ctrl-C)'] as const]),
  ].sort((a, b) => order(a[0]) - order(b[0]));
  return `Usage: polykv ${command.usage}
${aliases}
${command.description}

Options:
${table(options)}

Exit codes:
${table(exits)}

Example${command.examples.length > 1 ? 's' : ''}:
${command.examples.map((example) => `  ${example}`).join('\n')}
`;
}
