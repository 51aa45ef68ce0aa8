export {
  runStoreConformance,
  type ConformanceOptions,
  type MakeStore,
  type TestApi,
} from './conformance/suite.js';
