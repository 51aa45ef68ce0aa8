import { createMemoryStore, type MemoryStore, type Store } from '@polykv/core';
import { runStoreConformance } from '@polykv/core/testing';

// One named data set per run, so that stores opened for one test share data like clients of a server.
const name = `conformance-${process.pid}`;

runStoreConformance(
  'memory://',
  ({ prefix, codec }) => createMemoryStore({ name, prefix, ...(codec ? { codec } : {}) }),
  {
    breakLock: (store: Store, lock) => (store as MemoryStore).breakLock(lock),
  },
);
