/**
 * A Keyv store adapter over any polykv store URL (`memory://`, `etcd://`, `etcd3://`, `consul://`).
 *
 * @packageDocumentation
 */
export { KeyvPolykv, type KeyvPolykvEntry, type KeyvPolykvOptions } from './store.js';
