import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';

/** One request as it went over the wire. */
export interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/**
 * An HTTP proxy on 127.0.0.1 that forwards every request to `target` and records its method, URL
 * and headers, to check where credentials travel.
 */
export class RecordingProxy {
  readonly requests: Recorded[] = [];
  readonly #server: Server;
  readonly port: number;

  private constructor(server: Server, port: number) {
    this.#server = server;
    this.port = port;
  }

  static async start(targetHost: string, targetPort: number): Promise<RecordingProxy> {
    const records: Recorded[] = [];
    const server = createServer((incoming, outgoing) => {
      records.push({ method: incoming.method ?? '', url: incoming.url ?? '', headers: incoming.headers });
      const upstream = request(
        {
          host: targetHost,
          port: targetPort,
          method: incoming.method,
          path: incoming.url,
          headers: incoming.headers,
        },
        (response) => {
          outgoing.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(outgoing);
        },
      );
      upstream.on('error', () => outgoing.destroy());
      incoming.on('aborted', () => upstream.destroy());
      outgoing.on('close', () => upstream.destroy());
      incoming.pipe(upstream);
    });
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const proxy = new RecordingProxy(server, typeof address === 'object' && address ? address.port : 0);
    (proxy as { requests: Recorded[] }).requests = records;
    return proxy;
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
