/** A contender that goes through the backend-agnostic `Store` (etcd v2, etcd v3 or Consul alike). */
export function storeContender(store) {
  return {
    name: 'polykv Store',
    kind: 'store',
    store,
    async get(key) {
      return (await store.get(key))?.value ?? null;
    },
    async set(key, value) {
      await store.set(key, value);
    },
    async watch(key, onValue) {
      const watcher = store.watch(key, { initial: false });
      watcher.on('put', (event) => onValue(event.value));
      watcher.on('error', () => undefined);
      await new Promise((resolve) => watcher.once('connected', resolve));
      return { stop: () => watcher.close() };
    },
    close: () => store.close(),
  };
}
