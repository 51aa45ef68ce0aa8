import { createServer, connect, type Server, type Socket } from 'node:net';

/** What the proxy does with traffic; see {@link TcpProxy}. */
export type ProxyMode =
  | { kind: 'pass' }
  /** Accept connections and swallow every byte both ways: a network partition that never errors. */
  | { kind: 'blackhole' }
  /** Forward requests, but cut each response after `bytes` bytes (then close the connection). */
  | { kind: 'truncate'; bytes: number }
  /** Answer new connections with these bytes instead of forwarding, then close. */
  | { kind: 'garbage'; bytes: Buffer }
  /** Reset (RST) every new connection at once. */
  | { kind: 'refuse' };

interface Pair {
  client: Socket;
  upstream: Socket | undefined;
}

/**
 * A TCP proxy on 127.0.0.1 in front of a real server, for faults the server cannot produce on
 * demand: delay, black hole, reset, truncated or garbage responses. Counts what it did, so fault
 * tests can print totals.
 */
export class TcpProxy {
  readonly #server: Server;
  readonly #pairs = new Set<Pair>();
  #mode: ProxyMode = { kind: 'pass' };
  #delayMs = 0;
  /** Connections accepted, resets sent, responses truncated: for the fault totals. */
  readonly stats = { connections: 0, resets: 0, truncated: 0, garbage: 0, blackholed: 0 };

  private constructor(
    readonly target: { host: string; port: number },
    readonly port: number,
    server: Server,
  ) {
    this.#server = server;
  }

  /** Starts a proxy on a free port in front of `host:port`. */
  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    const proxy = new TcpProxy(
      { host: targetHost, port: targetPort },
      typeof address === 'object' && address ? address.port : 0,
      server,
    );
    server.on('connection', (client) => proxy.#accept(client));
    return proxy;
  }

  /** `127.0.0.1:port` of the proxy. */
  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  get url(): string {
    return `http://${this.host}`;
  }

  /** Changes what happens to new traffic (and, for `blackhole`, to open connections too). */
  setMode(mode: ProxyMode): void {
    this.#mode = mode;
  }

  /** Delays every chunk in both directions by `ms`. */
  setDelay(ms: number): void {
    this.#delayMs = ms;
  }

  /** Back to a transparent proxy with no delay. */
  pass(): void {
    this.#mode = { kind: 'pass' };
    this.#delayMs = 0;
  }

  /** Resets (RST) every open connection: a dropped network. */
  resetAll(): void {
    for (const pair of this.#pairs) {
      this.stats.resets++;
      pair.client.resetAndDestroy();
      pair.upstream?.destroy();
    }
    this.#pairs.clear();
  }

  /** Closes every open connection cleanly (FIN). */
  closeAll(): void {
    for (const pair of this.#pairs) {
      pair.client.end();
      pair.upstream?.end();
    }
  }

  get openConnections(): number {
    return this.#pairs.size;
  }

  async close(): Promise<void> {
    this.resetAll();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.stats.connections++;
    const mode = this.#mode;
    client.on('error', () => undefined);
    if (mode.kind === 'refuse') {
      this.stats.resets++;
      client.resetAndDestroy();
      return;
    }
    if (mode.kind === 'garbage') {
      this.stats.garbage++;
      client.once('data', () => client.end(mode.bytes));
      return;
    }
    const pair: Pair = { client, upstream: undefined };
    this.#pairs.add(pair);
    const forget = (): void => {
      this.#pairs.delete(pair);
      client.destroy();
      pair.upstream?.destroy();
    };
    client.on('close', forget);
    if (mode.kind === 'blackhole') {
      this.stats.blackholed++;
      client.on('data', () => undefined);
      return;
    }
    const upstream = connect(this.target.port, this.target.host);
    pair.upstream = upstream;
    upstream.on('error', () => client.resetAndDestroy());
    upstream.on('close', forget);
    let responseBytes = 0;
    const forward = (from: Socket, to: Socket, isResponse: boolean) => {
      from.on('data', (chunk: Buffer) => {
        const current = this.#mode;
        if (current.kind === 'blackhole') return;
        let data = chunk;
        if (isResponse && mode.kind === 'truncate') {
          const room = mode.bytes - responseBytes;
          data = chunk.subarray(0, Math.max(0, room));
          responseBytes += data.length;
          if (room <= chunk.length) {
            this.stats.truncated++;
            const send = () => {
              to.end(data);
              from.destroy();
            };
            if (this.#delayMs > 0) setTimeout(send, this.#delayMs);
            else send();
            return;
          }
        }
        if (this.#delayMs > 0) setTimeout(() => to.writable && to.write(data), this.#delayMs);
        else to.write(data);
      });
    };
    forward(client, upstream, false);
    forward(upstream, client, true);
  }
}
