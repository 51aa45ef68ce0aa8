import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

/** One request as the fake server saw it. */
export interface RecordedRequest {
  method: string;
  /** The path without the query string, still escaped as sent. */
  path: string;
  /** The raw query string (without `?`). */
  rawQuery: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** What the fake server answers. */
export interface FakeReply {
  status?: number;
  /** An object is sent as JSON; a string or Buffer as is. */
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * A real HTTP server on 127.0.0.1:0 that records every request and answers from a script. For
 * request-shape tables and for answers a real server will not give on demand; never instead of a
 * real server for behaviour.
 */
export class FakeServer {
  readonly requests: RecordedRequest[] = [];
  #replies: (FakeReply | ((request: RecordedRequest) => FakeReply))[] = [];
  #fallback: FakeReply | ((request: RecordedRequest) => FakeReply) = { status: 200, body: {} };

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<FakeServer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const fake = new FakeServer(server, typeof address === 'object' && address ? address.port : 0);
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const [path = '', rawQuery = ''] = (request.url ?? '').split(/\?(.*)/s);
        const recorded: RecordedRequest = {
          method: request.method ?? '',
          path,
          rawQuery,
          query: new URLSearchParams(rawQuery),
          headers: request.headers,
          body: Buffer.concat(chunks),
        };
        fake.requests.push(recorded);
        const next = fake.#replies.shift() ?? fake.#fallback;
        const reply = typeof next === 'function' ? next(recorded) : next;
        const body =
          reply.body === undefined
            ? ''
            : typeof reply.body === 'string' || Buffer.isBuffer(reply.body)
              ? reply.body
              : JSON.stringify(reply.body);
        response.writeHead(reply.status ?? 200, {
          'content-type':
            typeof reply.body === 'object' && !Buffer.isBuffer(reply.body)
              ? 'application/json'
              : 'text/plain',
          ...reply.headers,
        });
        response.end(body);
      });
    });
    return fake;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Queues answers for the next requests, in order. */
  reply(...replies: (FakeReply | ((request: RecordedRequest) => FakeReply))[]): void {
    this.#replies.push(...replies);
  }

  /** The answer when the queue is empty. */
  setFallback(reply: FakeReply | ((request: RecordedRequest) => FakeReply)): void {
    this.#fallback = reply;
  }

  last(): RecordedRequest {
    const request = this.requests.at(-1);
    if (!request) throw new Error('the fake server received no request');
    return request;
  }

  reset(): void {
    this.requests.length = 0;
    this.#replies = [];
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
