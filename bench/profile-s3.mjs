// S3 (get, 64 in flight) through one native client, run under `node --cpu-prof` by bench/run.mjs.
import * as factories from './lib/contenders.mjs';
import { operation, throughput } from './lib/scenarios.mjs';

const { contender: factoryName, origin, durationMs } = JSON.parse(process.argv[2]);
const contender = await factories[factoryName](origin);
const op = operation(contender, 'get');
await throughput(op, { concurrency: 64, durationMs: 300 });
const result = await throughput(op, { concurrency: 64, durationMs });
await contender.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
