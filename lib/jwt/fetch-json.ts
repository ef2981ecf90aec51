import type { Agent, ClientRequest, IncomingMessage, RequestOptions } from 'node:http';

type Request = (url: URL, options: RequestOptions, callback: (response: IncomingMessage) => void) => ClientRequest;

// Loaded on the first fetch of each protocol, not at import: a cold start with AUTH_JWKS_SNAPSHOT
// never fetches, and node:https (TLS) is the costliest module to load. (The Lambda runtime
// itself has already loaded node:http.) process.getBuiltinModule, not import(): synchronous, and
// it skips the ESM facade a dynamic import of a builtin builds (~0.5 ms for node:http on a cold start).
function clientFor(protocol: string): Request {
  return protocol === 'https:' ? process.getBuiltinModule('node:https').request : process.getBuiltinModule('node:http').request;
}

export interface FetchJsonOptions {
  timeoutMs: number;
  maxBytes: number;
}

/** The narrow I/O edge the key cache depends on; tests and snapshots swap it. */
export type FetchJson = (url: string, options: FetchJsonOptions) => Promise<unknown>;

export interface RequestJsonOptions extends FetchJsonOptions {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string | undefined;
  /**
   * A keep-alive agent, for calls made often (introspection); undefined for a connection of its own.
   * A request that meets a kept-alive socket dead (the container was frozen) is retried once, on a
   * new one.
   */
  agent?: Agent | undefined;
}

/** The narrow I/O edge the introspection client depends on. */
export type RequestJson = (url: string, options: RequestJsonOptions) => Promise<unknown>;

export class FetchError extends Error {
  /** The HTTP status, when the server answered with one other than 200. */
  readonly status: number | undefined;

  constructor(message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options);
    this.name = 'FetchError';
    this.status = options?.status;
  }
}

/**
 * GETs a JSON document with a deadline on the whole exchange and a cap on the body.
 * node:http rather than fetch(): it is already loaded in the Lambda runtime, which keeps the
 * cold start short, and it lets us stop reading the moment the cap is passed.
 * Redirects are refused: the operator configured this URL, and following a redirect would let
 * whoever controls the response choose where our keys come from.
 */
export const fetchJson: FetchJson = async (url, options) =>
  requestJson(url, { ...options, method: 'GET', headers: { accept: 'application/json' } });

/** Any JSON exchange, with fetchJson's deadline, cap and refusal of redirects; only 200 is an answer. */
export const requestJson: RequestJson = async (url, options) => {
  const target = new URL(url);
  const send = clientFor(target.protocol);
  try {
    return await exchange(send, target, url, options);
  } catch (error) {
    if (!(error instanceof StaleSocketError)) throw error;
    return exchange(send, target, url, { ...options, agent: undefined });
  }
};

/** A kept-alive socket that turned out dead before any byte of an answer: safe to retry once. */
class StaleSocketError extends Error {}

const exchange = (send: Request, target: URL, url: string, { timeoutMs, maxBytes, method, headers, body, agent }: RequestJsonOptions): Promise<unknown> =>
  new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      reject(error);
    };
    const requestHeaders = body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
    // agent: false: a connection of its own, closed after the response. JWKS fetches are minutes
    // apart, so a kept-alive socket would never be reused, only frozen with the container and found
    // dead later; and skipping the keep-alive bookkeeping saves ~0.5 ms of a cold start's first fetch.
    const request = send(target, { method, headers: requestHeaders, agent: agent ?? false }, (response) => {
      const status = response.statusCode ?? 0;
      if (status !== 200) {
        response.resume();
        fail(new FetchError(`${url} answered HTTP ${status}`, { status }));
        return;
      }
      const declared = Number(response.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        fail(new FetchError(`${url} declared ${declared} bytes, more than the ${maxBytes} byte cap`));
        return;
      }
      const chunks: Buffer[] = [];
      let received = 0;
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > maxBytes) {
          fail(new FetchError(`${url} sent more than the ${maxBytes} byte cap`));
          return;
        }
        chunks.push(chunk);
      });
      response.on('error', (error) => fail(new FetchError(`${url}: ${error.message}`, { cause: error })));
      response.on('end', () => {
        if (settled) return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          fail(new FetchError(`${url} did not answer JSON`));
          return;
        }
        settled = true;
        clearTimeout(timer);
        resolve(parsed);
      });
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      // Node's own advice for keep-alive agents: a reused socket the server closed meanwhile.
      if (request.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) return fail(new StaleSocketError(error.message));
      fail(new FetchError(`${url}: ${error.message}`, { cause: error }));
    });
    const timer = setTimeout(() => fail(new FetchError(`${url} did not answer within ${timeoutMs} ms`)), timeoutMs);
    request.end(body);
  });
