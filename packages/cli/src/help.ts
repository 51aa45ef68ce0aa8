import type { Command } from './command.js';
import { ENVIRONMENT } from './config.js';
import { commands } from './commands/index.js';

const EXIT_CODES: readonly [code: string, meaning: string][] = [
  ['0', 'success (diff: the stores hold the same values)'],
  ['1', 'failure; diff: the stores differ; copy/load: some keys failed; mirror: some not carried'],
  ['2', 'usage error (unknown command or option, missing argument)'],
  ['3', 'not found (get or rm of a missing key)'],
  ['4', 'lock not acquired within --wait, or lost while the command ran'],
  ['n', "lock, exec: the command's own exit code (127: it could not be run)"],
  ['130', 'interrupted (Ctrl-C; 143 for SIGTERM); also how watch ends (mirror, exec: their own code)'],
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

Store URLs (--url, --from, --to, or POLYKV_URL):
  etcd://host:2379[,host2:2379]/prefix   etcd v2 (etcds:// for TLS; user:password@ for basic auth)
  consul://host:8500/prefix?dc=dc1       Consul (consuls:// for TLS; token from CONSUL_HTTP_TOKEN)
  memory://                              an in-memory store (this process only)
  The path is a prefix: every key lives below it.

Environment:
${table(ENVIRONMENT)}

Exit codes:
${table(EXIT_CODES)}

Errors are one line on stderr: polykv: <CODE>: <message> (POLYKV_DEBUG=1 adds the stack trace).
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
  options.push(['-h, --help', 'show this help']);
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
    ['2', 'usage error'] as const,
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
