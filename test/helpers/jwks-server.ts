import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type JwksServerMode = 'ok' | 'error' | 'hang' | 'garbage' | 'oversized' | 'slow';

/**
 * A real JWKS (and discovery) server on 127.0.0.1 with a random port, whose behaviour a test
 * switches at will. It counts requests so tests can assert how often keys are fetched.
 */
export class JwksServer {
  mode: JwksServerMode = 'ok';
  /** Delay for `slow` mode, in ms. */
  slowMs = 0;
  jwks: unknown = { keys: [] };
  jwksRequests = 0;
  discoveryRequests = 0;
  /** Resolves the response of a request parked in `hang` mode when the test says so. */
  private readonly parked = new Set<http.ServerResponse>();
  private readonly server: http.Server;
  private port = 0;
  issuer = '';

  constructor() {
    this.server = http.createServer((request, response) => this.handle(request, response));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    this.issuer = `http://127.0.0.1:${this.port}/`;
    return this;
  }

  get jwksUri(): string {
    return `http://127.0.0.1:${this.port}/.well-known/jwks.json`;
  }

  async stop(): Promise<void> {
    for (const response of this.parked) response.destroy();
    this.parked.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Answers every request parked in `hang` mode with a 500, now. */
  releaseParked(): void {
    for (const response of this.parked) {
      response.statusCode = 500;
      response.end('{"error":"server_error"}');
    }
    this.parked.clear();
  }

  private handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    if (request.url === '/.well-known/openid-configuration') {
      this.discoveryRequests += 1;
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ issuer: this.issuer, jwks_uri: this.jwksUri }));
      return;
    }
    if (request.url !== '/.well-known/jwks.json') {
      response.statusCode = 404;
      response.end();
      return;
    }
    this.jwksRequests += 1;
    switch (this.mode) {
      case 'ok':
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify(this.jwks));
        return;
      case 'slow': {
        const timer = setTimeout(() => {
          response.setHeader('content-type', 'application/json');
          response.end(JSON.stringify(this.jwks));
        }, this.slowMs);
        response.on('close', () => clearTimeout(timer));
        return;
      }
      case 'error':
        response.statusCode = 500;
        response.end('{"error":"server_error"}');
        return;
      case 'hang':
        this.parked.add(response);
        response.on('close', () => this.parked.delete(response));
        return;
      case 'garbage':
        response.setHeader('content-type', 'application/json');
        response.end('<html>not json');
        return;
      case 'oversized': {
        // No content-length: the cap has to be enforced while streaming.
        response.setHeader('content-type', 'application/json');
        const chunk = Buffer.alloc(16 * 1024, 0x20);
        response.write('{"keys":[');
        for (let index = 0; index < 256; index += 1) response.write(chunk);
        response.end(']}');
        return;
      }
    }
  }
}
