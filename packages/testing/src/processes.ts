import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * The one folder under which every server of this process keeps its data and log:
 * `<tmp>/polykv-test-<run>-<pid>-<random>`, where `<run>` is `POLYKV_TEST_RUN` (a test runner sets it
 * to find its own strays afterwards) or `adhoc`. Created on first use and removed when the process
 * exits (by the reaper child if the process is killed).
 */
export function testRoot(): string {
  if (!root) {
    // The run id (set by scripts/run-tests.mjs) lets the final sweep find this run's strays, and only those.
    const run = process.env.POLYKV_TEST_RUN ?? 'adhoc';
    root = mkdtempSync(join(tmpdir(), `polykv-test-${run}-${process.pid}-`));
    reaper().stdin!.write(`dir ${root}\n`);
  }
  return root;
}

let reaperProcess: ChildProcess | undefined;
function reaper(): ChildProcess {
  if (!reaperProcess) {
    const script = fileURLToPath(new URL('./reaper.js', import.meta.url));
    reaperProcess = spawn(process.execPath, [script], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
    reaperProcess.unref();
    (reaperProcess.stdin as unknown as { unref(): void }).unref();
  }
  return reaperProcess;
}

const live = new Set<ManagedProcess>();
process.on('exit', () => {
  for (const child of live) child.killNow();
  if (root) rmSync(root, { recursive: true, force: true });
});

/**
 * Stops every server this test process started and has not stopped yet. Test files call it in
 * `after()`, so a failing test still leaves nothing running.
 */
export async function stopAllServers(): Promise<void> {
  await Promise.all([...live].map((child) => child.stop(2000)));
}

/**
 * Server ports come from below Linux's ephemeral range (32768-60999), so that no client socket of
 * any process takes a server's port while that server restarts, and each is reserved in a folder
 * shared by every test process on the machine (a file per port naming the owner's pid), so that a
 * port a test frees for a restart is never handed to another test's server. Both happened: a mirror
 * test wrote to another test's etcd that had taken its stopped target's port, and a Consul agent
 * failed with "address already in use".
 */
const PORT_LOW = 12_000;
const PORT_HIGH = 32_000;
const reservations = join(tmpdir(), 'polykv-test-ports');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reserves `port` for this process unless a live process has it. */
function reserve(port: number): boolean {
  const file = join(reservations, String(port));
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    let owner = 0;
    try {
      owner = Number(readFileSync(file, 'utf8'));
    } catch {
      // Removed in between: try again below.
    }
    if (owner > 0 && alive(owner)) return false;
    try {
      unlinkSync(file);
    } catch {
      // Another process took the stale reservation over first.
    }
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return true;
    } catch {
      return false;
    }
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A TCP port on 127.0.0.1 nobody listens on, reserved for this test process (see above). */
export async function freePort(): Promise<number> {
  mkdirSync(reservations, { recursive: true });
  for (let attempt = 0; attempt < 1000; attempt++) {
    const port = PORT_LOW + Math.floor(Math.random() * (PORT_HIGH - PORT_LOW));
    if (reserve(port) && (await bindable(port))) return port;
  }
  throw new Error(`no free port between ${PORT_LOW} and ${PORT_HIGH} after 1000 tries`);
}

/** `count` distinct ports as {@link freePort} finds them. */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** A folder below {@link testRoot} (created, with its parents), removed with it. */
export function makeDir(...parts: string[]): string {
  const dir = join(testRoot(), ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A server process that can be stopped, killed, paused and started again with the same arguments. */
export class ManagedProcess {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #paused = false;
  /** The file that gets the process's stdout and stderr: `<workDir>/<name>.log`. */
  readonly logFile: string;

  /**
   * Prepares the process; nothing runs until {@link ManagedProcess.start}.
   * @param name - a name for messages and the log file
   * @param binary - the executable
   * @param args - its arguments, reused by every start
   * @param workDir - its working folder (the log goes there)
   */
  constructor(
    readonly name: string,
    readonly binary: string,
    readonly args: string[],
    readonly workDir: string,
  ) {
    this.logFile = join(workDir, `${name}.log`);
  }

  /** The running process's id. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** True from {@link ManagedProcess.start} until the process has exited. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /**
   * Spawns the process (not waiting for it to be ready; the server classes' `waitReady` does that).
   * @throws Error when it is already running.
   */
  start(): void {
    if (this.#child) throw new Error(`${this.name} is already running`);
    const log = openSync(this.logFile, 'a');
    const child = spawn(this.binary, this.args, { cwd: this.workDir, stdio: ['ignore', log, log] });
    // A forgotten server must not keep the test process alive; the exit hook and the reaper kill it.
    child.unref();
    closeSync(log);
    this.#child = child;
    this.#paused = false;
    live.add(this);
    if (child.pid) reaper().stdin!.write(`+${child.pid}\n`);
    this.#exited = new Promise((resolve) => {
      child.once('exit', () => {
        if (child.pid) reaper().stdin?.write(`-${child.pid}\n`);
        if (this.#child === child) this.#child = undefined;
        live.delete(this);
        resolve();
      });
      child.once('error', () => resolve());
    });
  }

  /** SIGKILL: the crash case. Resolves when the process is gone. */
  async kill(): Promise<void> {
    this.#child?.ref();
    this.killNow();
    await this.#exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves when the process is gone. */
  async stop(graceMs = 5000): Promise<void> {
    const child = this.#child;
    if (!child) return;
    // Referenced while we wait for the exit, or the event loop would think nothing is pending.
    child.ref();
    if (this.#paused) child.kill('SIGCONT');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }

  /** SIGKILL without waiting for the exit. */
  killNow(): void {
    const child = this.#child;
    if (!child) return;
    if (this.#paused) child.kill('SIGCONT');
    child.kill('SIGKILL');
  }

  /** SIGSTOP: the process holds its sockets but answers nothing. */
  pause(): void {
    this.#child?.kill('SIGSTOP');
    this.#paused = true;
  }

  /** SIGCONT: undoes {@link ManagedProcess.pause}. */
  resume(): void {
    this.#child?.kill('SIGCONT');
    this.#paused = false;
  }

  /** The last lines of the server's log, for failure messages. */
  tail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

/** Polls `check` until it resolves true, or fails with `describe()` after `timeoutMs`. */
export async function waitUntil(
  check: () => Promise<boolean>,
  timeoutMs: number,
  describe: () => string,
): Promise<void> {
  const started = Date.now();
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The answer of {@link probe}. */
export interface ProbeResponse {
  /** The HTTP status. */
  status: number;
  /** The response headers, as node:http gives them. */
  headers: Record<string, string | string[] | undefined>;
  /** The body as UTF-8 text. */
  body: string;
}

/**
 * One HTTP request on its own connection (no keep-alive), for readiness probes and checks that
 * must not leave sockets behind.
 */
export function probe(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<ProbeResponse> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      { method: init.method ?? 'GET', headers: init.headers, agent: false, timeout: init.timeoutMs ?? 2000 },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
        );
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`probe of ${url} timed out`)));
    request.on('error', reject);
    request.end(init.body);
  });
}
