// The process helpers live in @polykv/testing; this file keeps the test suite's import paths.
export {
  freePort,
  freePorts,
  makeDir,
  ManagedProcess,
  probe,
  stopAllServers,
  testRoot,
  waitUntil,
  type ProbeResponse,
} from '@polykv/testing';

/** A file of the repository, from compiled test code (which runs from build/test/...). */
export function repoPath(relative: string): string {
  return new URL(`../../../${relative}`, import.meta.url).href;
}
