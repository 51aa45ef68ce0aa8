import { backoffDelay, sleep } from '@polykv/core';
import type { Session, SessionCreateRequest } from './api/session.js';
import { ConsulError } from './errors.js';
import type { WriteOptions } from './options.js';

/** Attempts of {@link createSession} at most (about 6 s of waiting in all). */
const ATTEMPTS = 10;

/**
 * True for the one refusal a cluster that has just formed gives: until the leader has registered
 * a node's `serfHealth` check, Consul answers a session create on that node with 500 "Missing check
 * 'serfHealth' registration" (seen within a second of a 3-server cluster forming). No session was
 * made then.
 */
export function isSerfHealthPending(error: unknown): boolean {
  return (
    error instanceof ConsulError &&
    error.statusCode === 500 &&
    (error.body ?? error.message).includes("Missing check 'serfHealth' registration")
  );
}

/**
 * `session.create`, waiting out {@link isSerfHealthPending} (retried with backoff, at most
 * {@link ATTEMPTS} times); any other failure is the caller's at once. What the locks, semaphores
 * and TTL keys use, so that the first of them on a new cluster does not fail.
 */
export async function createSession(
  session: Session,
  request: SessionCreateRequest,
  options?: WriteOptions,
): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await session.create(request, options);
    } catch (error) {
      if (attempt >= ATTEMPTS || !isSerfHealthPending(error)) throw error;
      // An abort ends the wait; the next attempt then fails with the client's own abort error.
      await sleep(backoffDelay(attempt, 100, 1000), options?.signal).catch(() => undefined);
    }
  }
}
