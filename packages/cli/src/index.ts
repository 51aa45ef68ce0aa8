export { runCli, version, type RunOptions } from './cli.js';
export type { Io } from './command.js';
export { ExitCode, CliError, UsageError, Interrupted } from './errors.js';
export { ProgressBar, type BarState, type BarStream } from './progress.js';
