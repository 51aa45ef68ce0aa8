import type { Dispatcher } from 'undici';
import { follow } from '../signal.js';

// A fast path, kept because it pays on every request row (bench/findings.md, "Answers read whole"):
// undici's `request()` hands the body over as a Readable stream and `body.text()` reads it back
// through the stream's events; collecting the chunks in a dispatch handler instead gave 1.10-1.37x
// the calls per second of the same client (Consul and etcd, native and Store, gets and sets, 1 and
// 64 in flight) in interleaved one-process A/B runs. The dispatcher stays the one seam (MockAgent,
// proxies, interceptors all take `dispatch`); only the reading of an answer changes.

/** What {@link requestWhole} resolves: an answer whose body was read whole (or up to its cap). */
export interface WholeResponse {
  /** The final status (an informational 1xx before it is skipped). */
  statusCode: number;
  /** Lower-case names; a repeated header gives an array, as undici's `request()` does. */
  headers: Record<string, string | string[]>;
  /** The body's bytes (at most the cap `limitFor` gave for the status). */
  body: Buffer;
  /**
   * Set when the body broke off after the headers arrived (a reset, a truncated answer, the signal):
   * `body` holds what came before. A failure before the headers rejects instead, so a caller can
   * tell "no answer" (maybe not sent: safe to try elsewhere) from "an answer that could not be read".
   */
  bodyError?: unknown;
}

/** A signal as undici accepts one: an `AbortSignal` or an EventEmitter-like object with `aborted`. */
export interface SignalLike {
  /** Set once the call must stop. */
  readonly aborted: boolean;
  /** What the call rejects with once aborted (an `AbortError` when absent). */
  readonly reason?: unknown;
}

type Emitterish = SignalLike & {
  once(event: 'abort', listener: () => void): unknown;
  removeListener(event: 'abort', listener: () => void): unknown;
};

/**
 * Sends one request through `dispatcher` and reads the answer whole. `limitFor(status)` caps what is
 * kept of a body (an error page: the rest is not read and the connection closes, so a 10 MB error
 * page is never held); `Infinity` keeps it all. A `signal` that aborts rejects with its reason (or
 * sets `bodyError` once the headers are in), as `request()` does.
 */
export function requestWhole(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  signal: SignalLike | null | undefined,
  limitFor: (statusCode: number) => number,
): Promise<WholeResponse> {
  return new Promise<WholeResponse>((resolve, reject) => {
    const reader = new WholeReader(resolve, reject, signal ?? undefined, limitFor);
    if (reader.settled) return;
    try {
      dispatcher.dispatch(options, reader);
    } catch (error) {
      reader.onError(error);
    }
  });
}

/**
 * What a call's signal reaches: undici's abort for the request once it is connected, let go when the
 * call settles. Never the reader: when the signal's listener reached the reader (and through its
 * `resolve`, the answer), answers already read stayed reachable past young-generation collections
 * (S8's 100,000-key copy peaked at 170-210 MB instead of 121-136 MB; bench/findings.md, "The abort
 * listener and S8's peaks").
 */
class AbortLink {
  undici: ((reason?: unknown) => void) | undefined = undefined;

  /** Not connected yet: nothing to do here, the request is still queued and `onConnect` aborts it. */
  abort(reason?: unknown): void {
    this.undici?.(reason);
  }
}

/** The dispatch handler of {@link requestWhole} (undici's handler interface, the one `dispatch` takes). */
class WholeReader implements Dispatcher.DispatchHandler {
  settled = false;
  /** What the call's signal reaches (see {@link AbortLink}). */
  readonly #link = new AbortLink();
  #statusCode = 0;
  #headers: Record<string, string | string[]> | undefined = undefined;
  #chunks: Buffer[] = [];
  #size = 0;
  #limit = Infinity;
  /** The cap was reached: the abort that follows ends the read, it is not a failure. */
  #capped = false;
  readonly #unlisten: (() => void) | undefined;

  constructor(
    private readonly resolve: (response: WholeResponse) => void,
    private readonly reject: (error: unknown) => void,
    private readonly signal: SignalLike | undefined,
    private readonly limitFor: (statusCode: number) => number,
  ) {
    if (signal === undefined) return;
    if (signal.aborted) {
      this.onError(signal.reason ?? abortedError());
      return;
    }
    const link = this.#link;
    if ('addEventListener' in signal) {
      // One listener per signal, however many calls share it (Node warns of a leak past ten).
      this.#unlisten = follow(signal as AbortSignal, link);
    } else {
      // The Consul call deadlines: a signal per call.
      const emitter = signal as Emitterish;
      const onAbort = (): void => link.abort(signal.reason ?? abortedError());
      emitter.once('abort', onAbort);
      this.#unlisten = () => emitter.removeListener('abort', onAbort);
    }
  }

  onConnect(abort: (reason?: Error) => void): void {
    if (this.settled) {
      abort();
      return;
    }
    if (this.signal?.aborted) {
      abort((this.signal.reason as Error | undefined) ?? abortedError());
      return;
    }
    this.#link.undici = abort as (reason?: unknown) => void;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[] | string[] | null): boolean {
    // 1xx answers (100 Continue) come before the real one.
    if (statusCode < 200) return true;
    this.#statusCode = statusCode;
    this.#headers = parseRawHeaders(rawHeaders ?? []);
    this.#limit = this.limitFor(statusCode);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#capped) return false;
    this.#chunks.push(chunk);
    this.#size += chunk.byteLength;
    if (this.#size >= this.#limit) {
      this.#capped = true;
      this.#link.abort(new Error('body cap reached'));
      return false;
    }
    return true;
  }

  onComplete(): void {
    this.#finish(undefined);
  }

  onError(error: unknown): void {
    if (this.settled) return;
    if (this.#headers === undefined) {
      this.#settle();
      this.reject(error);
      return;
    }
    this.#finish(this.#capped ? undefined : error);
  }

  /** The call is over: off the caller's signal, and undici's abort let go. */
  #settle(): void {
    this.settled = true;
    this.#unlisten?.();
    this.#link.undici = undefined;
  }

  #finish(bodyError: unknown): void {
    if (this.settled) return;
    this.#settle();
    const chunks = this.#chunks;
    let body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.#size);
    if (body.byteLength > this.#limit) body = body.subarray(0, this.#limit);
    const response: WholeResponse = { statusCode: this.#statusCode, headers: this.#headers!, body };
    if (bodyError !== undefined) response.bodyError = bodyError;
    this.resolve(response);
  }
}

/** undici's raw header list (`[name, value, name, value, ...]`) as a record, names lower-cased. */
function parseRawHeaders(raw: Buffer[] | string[]): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase();
    const value = raw[i + 1]!.toString('latin1');
    const seen = headers[name];
    if (seen === undefined) headers[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else headers[name] = [seen, value];
  }
  return headers;
}

function abortedError(): Error {
  return new DOMException('This operation was aborted', 'AbortError');
}

/** The body as text (UTF-8; a leading byte-order mark dropped, as undici's `body.text()` does). */
export function bodyText(body: Buffer): string {
  const bom = body.byteLength >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf;
  return body.toString('utf8', bom ? 3 : 0);
}
