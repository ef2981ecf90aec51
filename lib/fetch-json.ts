import http from 'node:http';
import https from 'node:https';

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
export const fetchJson: FetchJson = (url, { timeoutMs, maxBytes }) =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    const client = target.protocol === 'https:' ? https : http;
    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      reject(error);
    };
    const request = client.get(target, { headers: { accept: 'application/json' } }, (response) => {
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
