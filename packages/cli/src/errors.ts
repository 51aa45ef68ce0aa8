/**
 * Exit codes of the `polykv` command. They are part of its interface (scripts branch on them) and
 * are listed in `polykv --help`.
 */
export const ExitCode = {
  /** Success (for `diff`: no difference). */
  OK: 0,
  /** A failure, or (`diff`) a difference, or (`copy`, `load`) some keys failed. */
  FAILURE: 1,
  /** A bad command line: unknown command or option, missing argument, bad number. */
  USAGE: 2,
  /** `get` (or `rm`) found nothing at the key. */
  NOT_FOUND: 3,
  /** `lock`: the lock was not acquired within `--wait`, or it was lost while the command ran. */
  LOCK: 4,
  /** `lock`: the command could not be run (not found or not executable), as shells do. */
  CANNOT_RUN: 127,
  /** Interrupted by Ctrl-C (SIGINT); 143 for SIGTERM. */
  INTERRUPTED: 130,
} as const;

/**
 * An error the CLI reports as one line, `polykv: <code>: <message>`, and ends with `exitCode`.
 * Store errors (PolykvError) are reported with their own code; this class is for what the CLI
 * itself decides.
 */
export class CliError extends Error {
  /** An error printed as `polykv: <code>: <message>`, ending the command with `exitCode`. */
  constructor(
    /** A short upper-case word naming the failure: `USAGE`, `BAD_INPUT`, `NOT_SUPPORTED`... */
    readonly code: string,
    message: string,
    /** The process's exit code for it (see {@link ExitCode}). */
    readonly exitCode: number = ExitCode.FAILURE,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** `'CliError'`, for this class and its subclasses. */
  override get name(): string {
    return 'CliError';
  }
}

/** A bad command line (exit code 2). */
export class UsageError extends CliError {
  /** The command whose `--help` the message points at, if any. */
  readonly command: string | undefined;
  /** A `USAGE` error, exit code 2. */
  constructor(message: string, command?: string) {
    super('USAGE', message, ExitCode.USAGE);
    this.command = command;
  }
}

/** The reason the CLI's signal is aborted with when the process gets SIGINT or SIGTERM. */
export class Interrupted extends Error {
  /** 130 for SIGINT, 143 for SIGTERM: what a shell reports for a process such a signal ended. */
  readonly exitCode: number;
  /** The interruption by `signalName`. */
  constructor(
    /** The signal the process got; commands that run a child pass it on to the child. */
    readonly signalName: 'SIGINT' | 'SIGTERM',
  ) {
    super(`interrupted by ${signalName}`);
    this.exitCode = signalName === 'SIGINT' ? ExitCode.INTERRUPTED : 143;
  }
}
