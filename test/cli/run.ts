import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runCli } from '@polykv/cli';
import { repoPath } from '../helpers/processes.js';

export const root = fileURLToPath(repoPath(''));
export const cliPath = fileURLToPath(repoPath('packages/cli/dist/main.js'));

/** The environment of a CLI run: this process's, without anything the CLI reads, plus `env`. */
export function cliEnv(env: Record<string, string> = {}): Record<string, string | undefined> {
  const base: Record<string, string | undefined> = { ...process.env };
  for (const name of Object.keys(base))
    if (/^(POLYKV_|CONSUL_|ETCDCTL_)/.test(name) && name !== 'POLYKV_TEST_RUN') delete base[name];
  return { ...base, ...env };
}

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const running = new Set<ChildProcess>();

/** Kills every child a test started and did not see exit (a failed test must leave nothing running). */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** A running `polykv` (or any node script) whose output can be awaited line by line. */
export class Running {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<Result>;

  constructor(
    script: string,
    args: readonly string[],
    options: { env?: Record<string, string>; input?: string },
  ) {
    this.child = spawn(process.execPath, [script, ...args], {
      cwd: root,
      env: cliEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.child.stdin!.end(options.input ?? '');
    const child = this.child;
    running.add(child);
    child.once('exit', () => running.delete(child));
    this.exited = new Promise((resolve, reject) => {
      this.child.once('error', reject);
      this.child.once('close', (code, signal) =>
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr }),
      );
    });
  }

  /** Resolves once `pattern` shows up in the stream; rejects after `timeoutMs` with what was seen. */
  async waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs = 20_000): Promise<void> {
    const started = Date.now();
    while (!pattern.test(this[stream])) {
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(`exited before ${pattern} showed up on ${stream}:\n${this.stdout}\n${this.stderr}`);
      if (Date.now() - started > timeoutMs)
        throw new Error(
          `${pattern} did not show up on ${stream} in ${timeoutMs} ms:\n${this.stdout}\n${this.stderr}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

/** Starts `polykv ...args`. */
export function startCli(
  args: readonly string[],
  options: { env?: Record<string, string>; input?: string } = {},
) {
  return new Running(cliPath, args, options);
}

/** Runs `polykv ...args` to the end. */
export function cli(
  args: readonly string[],
  options: { env?: Record<string, string>; input?: string } = {},
): Promise<Result> {
  return startCli(args, options).exited;
}

/** What {@link inProcess} returns: stdout as bytes. */
export interface BytesResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs one `polykv` command line in this process through `runCli` (no node start-up per call: the
 * verb tests run many). The environment holds only `env`; stdin is `input`.
 */
export async function inProcess(
  args: readonly string[],
  options: { env?: Record<string, string>; input?: Uint8Array | string; signal?: AbortSignal } = {},
): Promise<BytesResult> {
  const stdout: Buffer[] = [];
  let stderr = '';
  const sink = (onChunk: (chunk: Buffer) => void): Writable =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        onChunk(Buffer.from(chunk));
        done();
      },
    });
  const io = {
    stdin: Readable.from(options.input === undefined ? [] : [Buffer.from(options.input)]),
    stdout: sink((chunk) => stdout.push(chunk)),
    stderr: sink((chunk) => (stderr += chunk.toString('utf8'))),
  };
  const code = await runCli(args, {
    io,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { code, stdout: Buffer.concat(stdout), stderr };
}

/** stderr is exactly one line `polykv: CODE: message`, with no stack trace. */
export function assertOneErrorLine(result: Result, code: string): void {
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${result.stderr}`);
  assert.match(lines[0]!, new RegExp(`^polykv: ${code}: \\S`));
  assert.doesNotMatch(result.stderr, /\n\s+at /);
}
