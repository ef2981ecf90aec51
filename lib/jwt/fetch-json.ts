import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';

type Get = (url: URL, options: RequestOptions, callback: (response: IncomingMessage) => void) => ClientRequest;

// Loaded on the first fetch of each protocol, not at import: a cold start with AUTH_JWKS_SNAPSHOT
// never fetches, and node:https (TLS) is the costliest module to load. (The Lambda runtime
// itself has already loaded node:http.) process.getBuiltinModule, not import(): synchronous, and
// it skips the ESM facade a dynamic import of a builtin builds (~0.5 ms for node:http on a cold start).
function clientFor(protocol: string): Get {
  return protocol === 'https:' ? process.getBuiltinModule('node:https').get : process.getBuiltinModule('node:http').get;
}

export interface FetchJsonOptions {
  timeoutMs: number;
  maxBytes: number;
}

/** The narrow I/O edge the key cache depends on; tests and snapshots swap it. */
export type FetchJson = (url: string, options: FetchJsonOptions) => Promise<unknown>;

export class FetchError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FetchError';
  }
}

/**
 * GETs a JSON document with a deadline on the whole exchange and a cap on the body.
 * node:http rather than fetch(): it is already loaded in the Lambda runtime, which keeps the
 * cold start short, and it lets us stop reading the moment the cap is passed.
 * Redirects are refused: the operator configured this URL, and following a redirect would let
 * whoever controls the response choose where our keys come from.
 */
export const fetchJson: FetchJson = async (url, options) => {
  const target = new URL(url);
  return fetchWith(clientFor(target.protocol), target, url, options);
};

const fetchWith = (get: Get, target: URL, url: string, { timeoutMs, maxBytes }: FetchJsonOptions): Promise<unknown> =>
  new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      reject(error);
    };
    // agent: false: a connection of its own, closed after the response. Fetches are minutes apart,
    // so a kept-alive socket would never be reused, only frozen with the container and found dead
    // later; and skipping the keep-alive bookkeeping saves ~0.5 ms of a cold start's first fetch.
    const request = get(target, { headers: { accept: 'application/json' }, agent: false }, (response) => {
      const status = response.statusCode ?? 0;
      if (status !== 200) {
        response.resume();
        fail(new FetchError(`${url} answered HTTP ${status}`));
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
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          fail(new FetchError(`${url} did not answer JSON`));
          return;
        }
        settled = true;
        clearTimeout(timer);
        resolve(body);
      });
    });
    request.on('error', (error) => fail(new FetchError(`${url}: ${error.message}`, { cause: error })));
    const timer = setTimeout(() => fail(new FetchError(`${url} did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
