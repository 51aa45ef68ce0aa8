// Kills the servers a process started if that process dies without stopping them (a crash, SIGKILL
// from a test timeout). The parent writes "+PID", "-PID" and "dir PATH" lines to our stdin; when
// stdin closes, the parent is gone, and so must be its servers and their data folders.
// Run as a detached child by processes.ts; not part of the package's API.
import { rmSync } from 'node:fs';

const pids = new Set<number>();
const dirs = new Set<string>();
let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  buffered += chunk;
  const lines = buffered.split('\n');
  buffered = lines.pop() ?? '';
  for (const line of lines) {
    if (line.startsWith('+')) pids.add(Number(line.slice(1)));
    else if (line.startsWith('-')) pids.delete(Number(line.slice(1)));
    else if (line.startsWith('dir ')) dirs.add(line.slice(4));
    else if (line.startsWith('undir ')) dirs.delete(line.slice(6));
  }
});
process.stdin.on('end', () => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  setTimeout(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  }, 500);
});
