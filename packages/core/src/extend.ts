/**
 * `{ ...base, ...extra, ...more }`, for objects made on every call of a hot path (a request's
 * options).
 *
 * Why not the spread: on Node 20 (V8 11.3) an object literal that starts with a spread and then
 * adds properties (`{ ...options, prevExist: true }`) is allocated so that it ends in the old
 * generation every time, garbage that only a full collection frees; the heap then grows to several
 * times what is live. 100,000 etcd v2 writes through the Store's `compareAndSwap` (64 in flight):
 * 6 mark-compacts and a heap of 67–87 MB with such a literal, 1 and 29 MB without it (ad hoc; see
 * DEVELOPERS.md, "Object literals on hot paths"). `Object.assign` into a fresh `{}` copies the same
 * properties in the same order without that cost. A literal that starts with its own properties
 * (`{ signal, ...more }`) is not affected either.
 */
export function extend<A extends object, B extends object>(
  base: A | undefined,
  extra: B,
): Omit<A, keyof B> & B;
export function extend<A extends object, B extends object, C extends object>(
  base: A | undefined,
  extra: B,
  more: C,
): Omit<Omit<A, keyof B> & B, keyof C> & C;
export function extend(base: object | undefined, ...extras: object[]): object {
  return Object.assign({}, base, ...extras) as object;
}
