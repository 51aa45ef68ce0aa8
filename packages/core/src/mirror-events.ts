import type { CopyProgress, CopySummary } from './copy.js';
import type { PolykvError } from './errors.js';
import type { KeyEvent } from './watch/events.js';

/** How a mirror run starts: resumed from a checkpoint, or with a full re-read (and why). */
export type MirrorStart =
  | {
      /** Resumed from the checkpoint: every source change up to this index is already on the target. */
      resumedFrom: number;
    }
  | {
      /** Why there was nothing to resume from, in words (`no checkpoint yet`, another source...). */
      fullRead: string;
    };

/** Events of a {@link Mirror}. */
export interface MirrorEvents {
  /** A run starts (at start; with `ha`, when this instance becomes active). */
  start: [how: MirrorStart];
  /** `ha`: waiting for the lock (another instance is active, or none has been yet). */
  standby: [];
  /** `ha`: this instance holds the lock and will write. */
  active: [fencingToken: number];
  /** `ha`: the lock was lost (or a newer instance wrote the checkpoint): writes stopped, back to standby. */
  lost: [error: PolykvError];
  /** Progress of a full re-read (the initial copy, and each re-sync). */
  progress: [progress: CopyProgress];
  /** The target matches the source (after the initial copy, and after each re-sync). */
  synced: [summary: CopySummary];
  /** A source change was written to the target (the source's event, with its index). */
  applied: [event: KeyEvent<unknown>];
  /** `delete`: a target key the source does not hold was deleted by a re-read. */
  removed: [key: string];
  /** Not `delete`: a target key the source does not hold was kept (reported once per key). */
  kept: [key: string];
  /** A key was carried with a change the target forced (a TTL raised, flags dropped...). */
  adjusted: [key: string, note: string];
  /** The checkpoint was saved: every change up to this source index is on the target. */
  checkpoint: [index: number];
  /** A write to the target failed; it is retried (with the key's latest state) until it succeeds. */
  retry: [key: string, error: unknown];
  /** The source watch is receiving changes (again). */
  connected: [];
  /** The source watch lost its connection; it retries and keeps its place. */
  disconnected: [cause: unknown];
  /**
   * The target can never hold this change as it is (`INVALID_ARGUMENT`, `VALUE_TOO_LARGE`,
   * `NOT_SUPPORTED`, `UNREPRESENTABLE`, `HELD`: a key etcd would hide, a value over Consul's limit,
   * flags into etcd, a value with children into typed directories, a TTL on a key a foreign session
   * holds): reported once per change and not retried, so one such key cannot stall the mirror. The
   * key is missing on the target (or not as on the source). A resumed mirror reports again the
   * keys its checkpoint lists as not carried.
   */
  skipped: [key: string, error: PolykvError];
  /** The source watch ended with an error: the mirror has stopped. */
  error: [error: PolykvError];
  /** The mirror has stopped (after `close()`, the signal, or an error): the last event. */
  end: [];
}
