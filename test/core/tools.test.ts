import { createMemoryStore } from '@polykv/core';
import { runToolsSuite } from '../helpers/tools-suite.js';

// Two named memory data sets: the tools see two independent "servers".
runToolsSuite(
  'memory:// to memory://',
  async (prefix, codec) => createMemoryStore({ name: 'tools-source', prefix, ...(codec ? { codec } : {}) }),
  async (prefix, codec) => createMemoryStore({ name: 'tools-target', prefix, ...(codec ? { codec } : {}) }),
);
