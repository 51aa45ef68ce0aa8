export { runStoreConformance, type ConformanceOptions, type MakeStore, type TestApi } from './conformance.js';
