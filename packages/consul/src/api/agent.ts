// The agent group lives in ./agent/ (checks, services, connect in their own files); this path stays the group's entry.
export * from './agent/index.js';
