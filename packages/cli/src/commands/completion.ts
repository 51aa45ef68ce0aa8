import { ExitCode, UsageError } from '../errors.js';
import { write, type Command, type OptionSpec } from '../command.js';

// Shell completion scripts, made from the command table itself: a command or option added to
// the CLI is completed without touching this file. Values: the `choices` of an option (-o, --format),
// files after @ (put), and the shell's default (file names) elsewhere.

type Described = Pick<Command, 'name' | 'aliases' | 'summary' | 'options'>;

/** Every spelling of every option of a command, `--help` and `--verbose` included. */
function optionWords(command: Described): string[] {
  const words = ['--help', '-h', '--verbose'];
  for (const [name, spec] of Object.entries(command.options)) {
    words.push(`--${name}`);
    if (spec.short) words.push(`-${spec.short}`);
  }
  return words;
}

function namesOf(command: Described): string[] {
  return [command.name, ...(command.aliases ?? [])];
}

/** A word list for the shell, quoted for a single-quoted string. */
function quoted(words: readonly string[]): string {
  return `'${words.join(' ').replace(/'/g, `'\\''`)}'`;
}

export function bashScript(commands: readonly Described[]): string {
  const names = commands.flatMap(namesOf);
  const optionCases = commands
    .map((command) => `    ${namesOf(command).join('|')}) opts=${quoted(optionWords(command))} ;;`)
    .join('\n');
  const valueCases: string[] = [];
  for (const command of commands)
    for (const [name, spec] of Object.entries(command.options))
      if (spec.choices) {
        const flags = [`--${name}`, ...(spec.short ? [`-${spec.short}`] : [])];
        const patterns = namesOf(command).flatMap((word) => flags.map((flag) => `${word}:${flag}`));
        valueCases.push(
          `    ${patterns.join('|')}) COMPREPLY=($(compgen -W ${quoted(spec.choices)} -- "$cur")); return ;;`,
        );
      }
  return `# polykv completion for bash. Load it with:  source <(polykv completion bash)
_polykv() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" opts=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W ${quoted([...names, 'help', '--help', '--version'])} -- "$cur"))
    return
  fi
  local word
  for word in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    # After -- come a command's own words (lock, watch --exec): the shell's default (file names).
    if [ "$word" = "--" ]; then return; fi
  done
  case "\${COMP_WORDS[1]}:$prev" in
${valueCases.join('\n')}
  esac
  case "\${COMP_WORDS[1]}" in
    help) COMPREPLY=($(compgen -W ${quoted(names)} -- "$cur")); return ;;
${optionCases}
  esac
  case "$cur" in
    -*) COMPREPLY=($(compgen -W "$opts" -- "$cur")) ;;
    @*) COMPREPLY=($(compgen -f -- "\${cur#@}" | sed 's/^/@/')) ;;
  esac
}
complete -o default -F _polykv polykv
`;
}

/** Text for inside zsh's `[...]` and `'...'`. */
function zshText(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/'/g, `'\\''`)
    .replace(/([[\]:$`])/g, '\\$1');
}

function zshOption(name: string, spec: OptionSpec): string {
  const help = `[${zshText(spec.help)}]`;
  const value =
    spec.type === 'string'
      ? `:${zshText(spec.value ?? 'value')}:${spec.choices ? `(${spec.choices.join(' ')})` : ''}`
      : '';
  const spellings = spec.short ? `{-${spec.short},--${name}}` : `--${name}`;
  const exclusive = spec.short ? `'(-${spec.short} --${name})'` : '';
  return spec.short ? `${exclusive}${spellings}'${help}${value}'` : `'${spellings}${help}${value}'`;
}

export function zshScript(commands: readonly Described[]): string {
  const described = commands.flatMap((command) =>
    namesOf(command).map((name) => `    '${zshText(name)}:${zshText(command.summary)}'`),
  );
  const cases = commands
    .map((command) => {
      const specs = [
        ...Object.entries(command.options).map(([name, spec]) => zshOption(name, spec)),
        "'(-h --help)'{-h,--help}'[the command'\\''s help]'",
        "'--verbose[say which store URL and credentials are used]'",
        "'*:: :_default'",
      ];
      return `    ${namesOf(command).join('|')})\n      _arguments -s \\\n        ${specs.join(' \\\n        ')}\n      ;;`;
    })
    .join('\n');
  return `#compdef polykv
# polykv completion for zsh. Load it with:  source <(polykv completion zsh)
# (or save it as _polykv in a directory of $fpath).
_polykv() {
  local -a commands
  commands=(
${described.join('\n')}
  )
  if (( CURRENT == 2 )); then
    _describe 'polykv command' commands
    return
  fi
  local name=$words[2]
  shift words
  (( CURRENT-- ))
  case $name in
${cases}
    *) _default ;;
  esac
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _polykv "$@"
else
  compdef _polykv polykv
fi
`;
}

export const completion: Command = {
  name: 'completion',
  summary: 'print a shell completion script (bash or zsh)',
  usage: 'completion bash|zsh',
  description:
    'Prints a script that completes polykv commands, options and option values in bash or zsh.\n' +
    'Load it in the current shell with `source <(polykv completion bash)` (zsh: `... zsh`), or\n' +
    'add that line to ~/.bashrc or ~/.zshrc.',
  options: {},
  args: { min: 1, max: 1, names: 'bash|zsh' },
  examples: ['source <(polykv completion bash)', 'polykv completion zsh > "${fpath[1]}/_polykv"'],
  async run(context) {
    const shell = context.positionals[0]!;
    const all: Described[] = [...context.commands];
    if (shell === 'bash') await write(context.io.stdout, bashScript(all));
    else if (shell === 'zsh') await write(context.io.stdout, zshScript(all));
    else throw new UsageError(`the shell must be bash or zsh, got ${JSON.stringify(shell)}`, context.name);
    return ExitCode.OK;
  },
};
