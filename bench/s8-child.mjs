// S8 (issue 19): one copy run in its own process, so that its peak RSS (VmHWM) is the copy's alone.
// Started by bench/lib/s8.mjs with one JSON argument:
//   { mode: 'copy' | 'mirror' | 'naive', from: { kind, origin }, to: { kind, origin }, prefix,
//     concurrency, abortAfter? }
// `abortAfter`: abort once that many keys have been handed to the target (the interruption at
// about half); the writes already in flight may still land. Prints one JSON line: seconds, keys
// written (counted at the target Store, one per key of every write call), peak RSS, the summary.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const args = JSON.parse(process.argv[2]);
const { copy, mirror } = await import('@polykv/core');
const { createEtcdStore } = await import('@polykv/etcd');
const { createConsulStore } = await import('@polykv/consul');

const open = ({ kind, origin }) =>
  kind === 'etcd' ? createEtcdStore({ hosts: [origin] }) : createConsulStore({ client: { address: origin } });

/** Peak resident set of this process (kB → MB), from the kernel: no sampling gaps. */
function peakRssMb() {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

const stop = new AbortController();
let written = 0;
let acknowledged = 0;
const count = (n) => {
  written += n;
};
/** The interruption comes once `abortAfter` keys are acknowledged (handed over is not enough). */
const acknowledge = (n) => {
  acknowledged += n;
  if (args.abortAfter !== undefined && acknowledged >= args.abortAfter && !stop.signal.aborted) stop.abort();
};

/** The target Store, with every write counted (a key per write, whatever the call). */
function counted(store) {
  return new Proxy(store, {
    get(target, name) {
      const member = Reflect.get(target, name, target);
      if (typeof member !== 'function') return member;
      if (name === 'writeMany')
        return async (writes, options) => {
          count(writes.length);
          const errors = await member.call(target, writes, options);
          acknowledge(errors.filter((error) => error === undefined).length);
          return errors;
        };
      if (['set', 'compareAndSwap', 'mkdir', 'del', 'compareAndDelete', 'push'].includes(name))
        return async (...call) => {
          count(1);
          const result = await member.apply(target, call);
          acknowledge(1);
          return result;
        };
      return member.bind(target);
    },
  });
}

const t0 = performance.now();
const out = { mode: args.mode, aborted: false };
if (args.mode === 'naive') {
  await naive();
} else {
  const from = open(args.from);
  const to = counted(open(args.to));
  try {
    if (args.mode === 'copy') {
      try {
        const summary = await copy(from, to, {
          prefix: args.prefix,
          concurrency: args.concurrency,
          signal: stop.signal,
        });
        out.summary = {
          copied: summary.copied.length,
          skipped: summary.skipped.length,
          failed: summary.failed.length,
          firstFailure: summary.failed[0] ? String(summary.failed[0].error) : undefined,
        };
      } catch (error) {
        if (!stop.signal.aborted) throw error;
        out.aborted = true;
      }
    } else {
      // mirror: its initial copy, until `synced` (or the interruption).
      const m = mirror(from, to, { prefix: args.prefix, concurrency: args.concurrency });
      const synced = new Promise((resolve, reject) => {
        m.once('synced', (summary) => resolve(summary));
        m.once('error', reject);
        stop.signal.addEventListener('abort', () => resolve(undefined), { once: true });
      });
      const summary = await synced;
      await m.close();
      await m.closed.catch(() => undefined);
      if (summary === undefined) out.aborted = true;
      else
        out.summary = {
          copied: summary.copied.length,
          skipped: summary.skipped.length,
          failed: summary.failed.length,
        };
    }
  } finally {
    await Promise.all([from.close(), to.close()]);
  }
}
out.seconds = (performance.now() - t0) / 1000;
out.written = written;
out.peakRssMb = peakRssMb();
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);

/** The naive peer loop: the peer's recursive read, then one peer write per key, one at a time. */
async function naive() {
  const { createRequire } = await import('node:module');
  const peers = createRequire(new URL('./.peers/', import.meta.url));
  const Etcd = peers('node-etcd');
  const Consul = peers('consul');
  const consulOf = (origin) => {
    const url = new URL(origin);
    return new Consul({ host: url.hostname, port: url.port });
  };
  let pairs = [];
  if (args.from.kind === 'etcd') {
    const etcd = new Etcd([args.from.origin]);
    const body = await new Promise((resolve, reject) =>
      etcd.get(args.prefix, { recursive: true }, (error, result) =>
        error ? reject(error) : resolve(result),
      ),
    );
    const walk = (node) => {
      if (!node.dir) pairs.push([node.key.slice(1), node.value]);
      for (const child of node.nodes ?? []) walk(child);
    };
    walk(body.node);
  } else {
    const consul = consulOf(args.from.origin);
    const list = await consul.kv.get({ key: `${args.prefix}/`, recurse: true });
    pairs = (list ?? []).map((pair) => [pair.Key, pair.Value ?? '']);
    consul.destroy?.();
  }
  if (args.to.kind === 'consul') {
    const consul = consulOf(args.to.origin);
    for (const [key, value] of pairs) {
      count(1);
      await consul.kv.set(key, value);
    }
    consul.destroy?.();
  } else {
    const etcd = new Etcd([args.to.origin]);
    for (const [key, value] of pairs) {
      count(1);
      await new Promise((resolve, reject) =>
        etcd.set(key, value, (error) => (error ? reject(error) : resolve())),
      );
    }
  }
}
