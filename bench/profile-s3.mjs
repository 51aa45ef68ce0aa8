// One request scenario through one contender, run under `node --cpu-prof` by bench/run.mjs (S3:
// get, 64 in flight). `op` and `concurrency` pick another shape (e.g. a Store's S2: set, 1).
import * as factories from './lib/contenders.mjs';
import { operation, throughput } from './lib/scenarios.mjs';

const {
  contender: factoryName,
  origin,
  durationMs,
  op = 'get',
  concurrency = 64,
} = JSON.parse(process.argv[2]);
const contender = await factories[factoryName](origin);
const run = operation(contender, op);
await throughput(run, { concurrency, durationMs: 300 });
const result = await throughput(run, { concurrency, durationMs });
await contender.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
