import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { AuthError, type ReasonCode } from '../../../lib/errors.js';
import type { ClientSecretSource, LoadClientSecret } from '../../../lib/introspection/client-secret.js';
import {
  type IntrospectionClient, type IntrospectionDependencies, type IntrospectionEvent, type IntrospectionOptions, TokenIntrospector,
} from '../../../lib/introspection/token-introspector.js';
import { requestJson } from '../../../lib/jwt/fetch-json.js';
import { issuerProfile } from '../../../lib/jwt/issuer-profile.js';
import type { Verification } from '../../../lib/jwt/verified-token-cache.js';

const AUDIENCE = 'https://api.example.com/calendar/v1/';
const CLIENT_ID = 'calendar-gate';
// Every character RFC 6749 §2.3.1 makes the Basic encoding form-encode: colon, plus, space, percent, non-ASCII.
const SECRET = 's3cr:et +/%&=é-Ω';
const OPTIONS: IntrospectionOptions = {
  timeoutMs: 300, maxResponseBytes: 4096, cacheSize: 100, activeCacheSeconds: 60, inactiveCacheSeconds: 10, staleIfErrorSeconds: 60,
  clockToleranceSeconds: 5, maxTokenLifetimeSeconds: 86_400,
};
// Every wait on the network is bounded by this: generous, never an assertion on speed.
const BOUND_MS = 5 * OPTIONS.timeoutMs;
const T0 = 1_900_000_000_000;
const BACKOFF_MS = 2000;

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  socket: Socket;
}

type Handler = (request: Seen, response: http.ServerResponse) => void;

/** A real introspection (and discovery) server on 127.0.0.1, whose answer each test chooses. */
class IntrospectionServer {
  readonly seen: Seen[] = [];
  handler: Handler = () => undefined;
  discovery: unknown = undefined;
  private readonly server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const seen = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), socket: request.socket };
      this.seen.push(seen);
      if (seen.url === '/.well-known/openid-configuration' && this.discovery !== undefined) {
        json(response, this.discovery);
        return;
      }
      this.handler(seen, response);
    });
  });
  base = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  get endpoint(): string {
    return `${this.base}introspect`;
  }

  get introspections(): Seen[] {
    return this.seen.filter(({ url }) => url === '/introspect');
  }

  reset(): void {
    this.seen.length = 0;
    this.discovery = undefined;
    this.handler = () => undefined;
    // Parked (never answered) requests of the last test die with their connections.
    this.server.closeAllConnections();
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function json(response: http.ServerResponse, body: unknown, status = 200): void {
  response.statusCode = status;
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify(body));
}

const server = new IntrospectionServer();
let clock: number;
let events: IntrospectionEvent[];
/** Every token a test used and every message a refusal carried: checked for leaks after each test. */
let tokens: string[];
let messages: string[];

before(() => server.start());
after(() => server.stop());
beforeEach(() => {
  server.reset();
  clock = T0;
  events = [];
  tokens = [];
  messages = [];
});
afterEach(() => {
  for (const { detail, type } of events) {
    assert.ok(!detail.includes(SECRET), `the ${type} event carries the secret: ${detail}`);
    for (const token of tokens) assert.ok(!detail.includes(token), `the ${type} event carries a token: ${detail}`);
  }
  for (const message of messages) {
    assert.ok(!message.includes(SECRET), `a refusal carries the secret: ${message}`);
    for (const token of tokens) assert.ok(!message.includes(token), `a refusal carries a token: ${message}`);
  }
});

/** A fresh opaque token, remembered for the leak check. */
function newToken(): string {
  const token = `opaque-${randomUUID()}`;
  tokens.push(token);
  return token;
}

const seconds = (): number => Math.floor(clock / 1000);

/** An oidc-provider style active answer at the test clock. */
function active(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    active: true, client_id: 'calendar-app', sub: 'usr_123', aud: AUDIENCE, scope: 'read write', token_type: 'Bearer', iss: server.base, iat: seconds() - 10, exp: seconds() + 3600, ...overrides,
  };
}

function client(overrides: Partial<IntrospectionClient> = {}): IntrospectionClient {
  return {
    issuer: server.base, endpoint: server.endpoint, clientId: CLIENT_ID, clientSecret: { kind: 'value', value: SECRET }, authMethod: 'client_secret_basic',
    profile: issuerProfile('rfc9068'), ...overrides,
  };
}

function introspector(overrides: Partial<IntrospectionClient> = {}, options: Partial<IntrospectionOptions> = {}, dependencies: IntrospectionDependencies = {}): TokenIntrospector {
  return new TokenIntrospector([client(overrides)], { ...OPTIONS, ...options }, { now: () => clock, onEvent: (event) => events.push(event), ...dependencies });
}

/** Fails the test if the promise has not settled within `ms`. Bounds a wait; never synchronises. */
async function within<T>(promise: Promise<T>, ms = BOUND_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** check() as a bounded promise: a synchronous answer or throw becomes a settled promise. */
function check(subject: TokenIntrospector, token: string, issuer = server.base): Promise<Verification> {
  return within((async () => subject.check(issuer, token))());
}

async function refused(promise: Promise<unknown>, code: ReasonCode, message?: RegExp): Promise<AuthError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof AuthError, `expected an AuthError, got ${String(caught)}`);
  messages.push(caught.message);
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`);
  if (message !== undefined) assert.match(caught.message, message);
  return caught;
}

/** Asserts a check answers synchronously (no promise: no request) and returns its result or its throw. */
function answeredAtOnce(subject: TokenIntrospector, token: string): Verification | AuthError {
  const before = server.seen.length;
  let result: Verification | Promise<Verification>;
  try {
    result = subject.check(server.base, token);
  } catch (error) {
    assert.ok(error instanceof AuthError, `expected an AuthError, got ${String(error)}`);
    messages.push(error.message);
    assert.equal(server.seen.length, before);
    return error;
  }
  assert.ok(!(result instanceof Promise), 'expected an answer without a request');
  assert.equal(server.seen.length, before);
  return result;
}

const answerActive = (overrides: Record<string, unknown> = {}): Handler => (_request, response) => json(response, active(overrides));
const answerStatus = (status: number): Handler => (_request, response) => json(response, { error: 'server_error' }, status);

describe('TokenIntrospector: the cache', () => {
  it('an active answer, then a cache hit: no second request, the same Verification object', async () => {
    server.handler = answerActive();
    const subject = introspector();
    const token = newToken();
    const first = await check(subject, token);
    assert.equal(first.cached, false);
    assert.equal(first.verified.kid, undefined);
    assert.equal(first.verified.claims.subject, 'usr_123');
    assert.deepEqual([...first.verified.claims.scopes], ['read', 'write']);
    const hit = answeredAtOnce(subject, token) as Verification;
    assert.equal(hit.cached, true);
    assert.equal(hit.verified, first.verified);
    assert.equal(answeredAtOnce(subject, token), hit, 'every hit hands out the very same object');
    assert.equal(server.introspections.length, 1);
  });

  it('an active answer stands for AUTH_INTROSPECTION_CACHE_SECONDS when exp is later', async () => {
    server.handler = answerActive();
    const subject = introspector();
    const token = newToken();
    await check(subject, token);
    clock = T0 + OPTIONS.activeCacheSeconds * 1000 - 1;
    answeredAtOnce(subject, token);
    clock = T0 + OPTIONS.activeCacheSeconds * 1000;
    const again = await check(subject, token);
    assert.equal(again.cached, false);
    assert.equal(server.introspections.length, 2);
  });

  it('an active answer stands until exp when exp comes first', async () => {
    const exp = seconds() + 30;
    server.handler = answerActive({ exp });
    const subject = introspector();
    const token = newToken();
    await check(subject, token);
    clock = exp * 1000 - 1;
    answeredAtOnce(subject, token);
    clock = exp * 1000;
    await check(subject, token);
    assert.equal(server.introspections.length, 2);
  });

  it('an inactive answer is token_inactive, remembered for the inactive TTL, then asked again', async () => {
    server.handler = (_request, response) => json(response, { active: false });
    const subject = introspector();
    const token = newToken();
    await refused(check(subject, token), 'token_inactive');
    clock = T0 + OPTIONS.inactiveCacheSeconds * 1000 - 1;
    assert.equal((answeredAtOnce(subject, token) as AuthError).code, 'token_inactive');
    clock = T0 + OPTIONS.inactiveCacheSeconds * 1000;
    server.handler = answerActive();
    assert.equal((await check(subject, token)).cached, false);
    assert.equal(server.introspections.length, 2);
  });

  it('an active answer the claim rules refuse is remembered like an inactive one', async () => {
    server.handler = answerActive({ aud: undefined });
    const subject = introspector();
    const token = newToken();
    await refused(check(subject, token), 'audience_missing');
    assert.equal((answeredAtOnce(subject, token) as AuthError).code, 'audience_missing');
    assert.equal(server.introspections.length, 1);
  });

  it('single flight: two concurrent checks of one token make one request', async () => {
    const parked: http.ServerResponse[] = [];
    server.handler = (_request, response) => {
      parked.push(response);
      json(response, active());
    };
    const subject = introspector();
    const token = newToken();
    const one = subject.check(server.base, token);
    const two = subject.check(server.base, token);
    assert.equal(one, two, 'the second check joins the first one\'s flight');
    await within(Promise.all([one, two]));
    assert.equal(server.introspections.length, 1);
    assert.equal(parked.length, 1);
  });

  it('the cache is bounded by cacheSize: the oldest answer is evicted and asked again', async () => {
    server.handler = answerActive();
    const subject = introspector({}, { cacheSize: 3 });
    const all = [newToken(), newToken(), newToken(), newToken(), newToken()];
    for (const token of all) await check(subject, token);
    assert.equal(subject.cacheSize, 3);
    assert.equal(server.introspections.length, 5);
    await check(subject, all[0]!);
    assert.equal(server.introspections.length, 6, 'the evicted token is asked again');
    answeredAtOnce(subject, all[4]!);
    assert.equal(subject.cacheSize, 3);
  });
});

describe('TokenIntrospector: the request', () => {
  it('client_secret_basic: a POST with Basic credentials form-encoded per RFC 6749 §2.3.1, and token_type_hint=access_token', async () => {
    server.handler = answerActive();
    const clientId = 'calendar gate:1';
    const subject = introspector({ clientId });
    const token = newToken();
    await check(subject, token);
    const [seen] = server.introspections;
    assert.equal(seen!.method, 'POST');
    assert.equal(seen!.headers['content-type'], 'application/x-www-form-urlencoded');
    const authorization = seen!.headers['authorization'] ?? '';
    assert.match(authorization, /^Basic [A-Za-z0-9+/]+=*$/);
    const decoded = Buffer.from(authorization.slice('Basic '.length), 'base64').toString('utf8');
    const parts = decoded.split(':');
    assert.equal(parts.length, 2, `the colons of the id and the secret are encoded: ${parts.length - 1} raw colons`);
    const formDecode = (value: string): string => decodeURIComponent(value.replace(/\+/g, ' '));
    assert.equal(formDecode(parts[0]!), clientId);
    assert.equal(formDecode(parts[1]!), SECRET);
    assert.equal(parts[0], 'calendar+gate%3A1');
    const form = new URLSearchParams(seen!.body);
    assert.equal(form.get('token'), token);
    assert.equal(form.get('token_type_hint'), 'access_token');
    assert.equal(form.get('client_secret'), null, 'the secret is not in the body as well');
    assert.equal(form.get('client_id'), null);
  });

  it('client_secret_post: id and secret in the body, no Authorization header', async () => {
    server.handler = answerActive();
    const subject = introspector({ authMethod: 'client_secret_post' });
    const token = newToken();
    await check(subject, token);
    const [seen] = server.introspections;
    assert.equal(seen!.headers['authorization'], undefined);
    const form = new URLSearchParams(seen!.body);
    assert.deepEqual(Object.fromEntries(form), { token, token_type_hint: 'access_token', client_id: CLIENT_ID, client_secret: SECRET });
  });
});

describe('TokenIntrospector: discovery', () => {
  it('takes introspection_endpoint from the discovery document, once', async () => {
    server.discovery = { issuer: server.base, introspection_endpoint: server.endpoint, jwks_uri: `${server.base}jwks` };
    server.handler = answerActive();
    const subject = introspector({ endpoint: undefined });
    await check(subject, newToken());
    await check(subject, newToken());
    assert.equal(server.seen.filter(({ url }) => url === '/.well-known/openid-configuration').length, 1);
    assert.equal(server.introspections.length, 2);
    assert.deepEqual(events.filter(({ type }) => type === 'introspection_endpoint_discovered').map(({ detail }) => detail), [server.endpoint]);
  });

  it('refuses a discovered http endpoint for an https issuer, without sending it the token', async () => {
    const issuer = 'https://issuer.example/';
    const document = { issuer, introspection_endpoint: server.endpoint };
    const subject = introspector({ issuer, endpoint: undefined }, {}, {
      requestJson: async (url, options) => (url === `${issuer}.well-known/openid-configuration` ? document : requestJson(url, options)),
    });
    await refused(check(subject, newToken(), issuer), 'introspection_unavailable', /not https/);
    assert.equal(server.seen.length, 0);
  });

  it('refuses a document that names another issuer', async () => {
    server.discovery = { issuer: 'https://other.example/', introspection_endpoint: server.endpoint };
    const subject = introspector({ endpoint: undefined });
    await refused(check(subject, newToken()), 'introspection_unavailable', /names the issuer "https:\/\/other\.example\/"/);
    assert.equal(server.introspections.length, 0);
  });

  it('refuses a document without introspection_endpoint, saying how to configure it; discovery is retried later', async () => {
    server.discovery = { issuer: server.base, jwks_uri: `${server.base}jwks` };
    const subject = introspector({ endpoint: undefined });
    await refused(check(subject, newToken()), 'introspection_unavailable', /introspection_endpoint.*AUTH_INTROSPECTION_ENDPOINT/);
    server.discovery = { issuer: server.base, introspection_endpoint: server.endpoint };
    server.handler = answerActive();
    clock += BACKOFF_MS;
    assert.equal((await check(subject, newToken())).cached, false);
  });
});

describe('TokenIntrospector: failures end in a bounded refusal', () => {
  it('HTTP 401: introspection_unavailable naming the client, never the secret or the token', async () => {
    server.handler = (_request, response) => json(response, { error: 'invalid_client' }, 401);
    const subject = introspector();
    const token = newToken();
    const error = await refused(check(subject, token), 'introspection_unavailable', /calendar-gate.*HTTP 401/);
    assert.match(error.message, /the environment/);
    assert.ok(!error.message.includes(SECRET));
    assert.ok(!error.message.includes(token));
  });

  it('HTTP 403 likewise', async () => {
    server.handler = answerStatus(403);
    await refused(check(introspector(), newToken()), 'introspection_unavailable', /calendar-gate.*HTTP 403/);
  });

  it('HTTP 400 or 413 for one token: that token is refused (token_inactive), and the next one is asked at once, no backoff', async () => {
    for (const status of [400, 413]) {
      server.handler = answerStatus(status);
      const subject = introspector();
      await refused(check(subject, newToken()), 'token_inactive', new RegExp(`HTTP ${status}`));
      server.handler = answerActive();
      assert.equal((await check(subject, newToken())).cached, false, `after ${status}`);
    }
  });

  it('HTTP 429 (rate limited) is an outage of the endpoint: introspection_unavailable, and the backoff', async () => {
    server.handler = answerStatus(429);
    const subject = introspector();
    await refused(check(subject, newToken()), 'introspection_unavailable', /HTTP 429/);
    server.handler = answerActive();
    await refused(check(subject, newToken()), 'introspection_unavailable', /backing off/);
  });

  it('HTTP 500: introspection_unavailable', async () => {
    server.handler = answerStatus(500);
    await refused(check(introspector(), newToken()), 'introspection_unavailable', /HTTP 500/);
  });

  it('a server that never answers: refused within the deadline', async () => {
    server.handler = () => undefined;
    await refused(check(introspector(), newToken()), 'introspection_unavailable', /did not answer within 300 ms/);
    assert.equal(server.introspections.length, 1);
  });

  it('a server that sends headers and then stalls: refused within the deadline', async () => {
    server.handler = (_request, response) => {
      response.setHeader('content-type', 'application/json');
      response.write('{"active":');
    };
    await refused(check(introspector(), newToken()), 'introspection_unavailable', /did not answer within/);
  });

  it('an oversized body with a declared content-length: introspection_unavailable', async () => {
    server.handler = (_request, response) => {
      const body = JSON.stringify(active({ padding: 'x'.repeat(OPTIONS.maxResponseBytes) }));
      response.setHeader('content-type', 'application/json');
      response.setHeader('content-length', Buffer.byteLength(body));
      response.end(body);
    };
    await refused(check(introspector(), newToken()), 'introspection_unavailable', /declared \d+ bytes, more than the 4096 byte cap/);
  });

  it('an oversized chunked body: introspection_unavailable', async () => {
    server.handler = (_request, response) => {
      response.setHeader('content-type', 'application/json');
      response.write('{"active":true,"padding":"');
      for (let index = 0; index < 64; index += 1) response.write('x'.repeat(1024));
      response.end('"}');
    };
    await refused(check(introspector(), newToken()), 'introspection_unavailable', /more than the 4096 byte cap/);
  });

  it('garbage: not JSON, a JSON array, a JSON string, an object without active', async () => {
    const bodies = ['<html>Service Unavailable</html>', JSON.stringify([active()]), JSON.stringify('active'), JSON.stringify({ error: 'temporarily_unavailable' }), ''];
    for (const body of bodies) {
      server.handler = (_request, response) => {
        response.setHeader('content-type', 'application/json');
        response.end(body);
      };
      await refused(check(introspector(), newToken()), 'introspection_unavailable', undefined);
    }
    assert.equal(server.introspections.length, bodies.length);
  });

  it('a garbage answer is not cached: after recovery the same token is accepted', async () => {
    server.handler = (_request, response) => json(response, [active()]);
    const subject = introspector();
    const token = newToken();
    await refused(check(subject, token), 'introspection_unavailable');
    clock += BACKOFF_MS;
    server.handler = answerActive();
    assert.equal((await check(subject, token)).verified.claims.subject, 'usr_123');
  });

  it('connection refused (a closed port): introspection_unavailable', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await refused(check(introspector({ endpoint: `http://127.0.0.1:${port}/introspect` }), newToken()), 'introspection_unavailable', /ECONNREFUSED/);
  });

  it('a discovery server that never answers: refused within the deadline', async () => {
    server.handler = () => undefined;
    await refused(check(introspector({ endpoint: undefined }), newToken()), 'introspection_unavailable', /openid-configuration did not answer within 300 ms/);
    assert.equal(server.introspections.length, 0);
  });

  it('a kept-alive socket the server dropped is retried once, on a new connection', async () => {
    const served = new Set<Socket>();
    server.handler = (seen, response) => {
      // The second request on a connection finds it dead (a container thawed after the server closed it).
      if (served.has(seen.socket)) {
        seen.socket.destroy();
        return;
      }
      served.add(seen.socket);
      json(response, active());
    };
    const subject = introspector();
    await check(subject, newToken());
    assert.equal((await check(subject, newToken())).cached, false);
    assert.equal(server.introspections.length, 3, 'the request on the dead socket, then its retry');
    assert.equal(served.size, 2);
  });

  it('a connection dropped on a fresh socket is a failure, not retried', async () => {
    server.handler = (seen) => seen.socket.destroy();
    await refused(check(introspector(), newToken()), 'introspection_unavailable', /socket hang up|ECONNRESET/);
    assert.equal(server.introspections.length, 1);
  });

  it('a redirect is a failure, not followed', async () => {
    server.handler = (_request, response) => {
      response.statusCode = 307;
      response.setHeader('location', 'https://evil.example/introspect');
      response.end();
    };
    await refused(check(introspector(), newToken()), 'introspection_unavailable', /HTTP 307/);
  });

  it('every failure is reported as an event, naming neither the token nor the secret', async () => {
    server.handler = (_request, response) => json(response, { error: 'invalid_client', token: 'echo' }, 401);
    await refused(check(introspector(), newToken()), 'introspection_unavailable');
    const failed = events.filter(({ type }) => type === 'introspection_failed');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.issuer, server.base);
  });
});

describe('TokenIntrospector: backoff, stale-if-error and recovery', () => {
  it('after a failure, a new token is refused at once without a request, until 2 s later', async () => {
    server.handler = answerStatus(500);
    const subject = introspector();
    await refused(check(subject, newToken()), 'introspection_unavailable');
    server.handler = answerActive();
    clock = T0 + BACKOFF_MS - 1;
    const backingOff = answeredAtOnce(subject, newToken());
    assert.ok(backingOff instanceof AuthError);
    assert.equal(backingOff.code, 'introspection_unavailable');
    assert.match(backingOff.message, /backing off.*HTTP 500/);
    assert.equal(server.introspections.length, 1);
    clock = T0 + BACKOFF_MS;
    assert.equal((await check(subject, newToken())).cached, false);
    assert.equal(server.introspections.length, 2);
  });

  it('a success clears the backoff at once', async () => {
    server.handler = answerStatus(500);
    const subject = introspector();
    await refused(check(subject, newToken()), 'introspection_unavailable');
    clock += BACKOFF_MS;
    server.handler = answerActive();
    await check(subject, newToken());
    await check(subject, newToken());
    assert.equal(server.introspections.length, 3);
  });

  it('a transient failure is never cached: after recovery the token is accepted', async () => {
    server.handler = answerStatus(503);
    const subject = introspector();
    const token = newToken();
    await refused(check(subject, token), 'introspection_unavailable');
    clock += BACKOFF_MS;
    server.handler = answerActive();
    const verification = await check(subject, token);
    assert.equal(verification.cached, false);
    assert.equal(verification.verified.claims.subject, 'usr_123');
  });

  it('stale-if-error: an active answer past its freshness serves while the server is down, until staleUntil', async () => {
    server.handler = answerActive();
    const subject = introspector();
    const token = newToken();
    const first = await check(subject, token);
    const freshUntil = T0 + OPTIONS.activeCacheSeconds * 1000;
    const staleUntil = freshUntil + OPTIONS.staleIfErrorSeconds * 1000;
    server.handler = answerStatus(500);
    clock = freshUntil;
    const stale = await check(subject, token);
    assert.equal(stale.verified, first.verified, 'the remembered answer stands in');
    assert.equal(server.introspections.length, 2, 'the server was asked first');
    // Within the backoff, no request at all.
    assert.equal((answeredAtOnce(subject, token) as Verification).verified, first.verified);
    clock = staleUntil - 1;
    assert.equal((await check(subject, token)).verified, first.verified);
    clock = staleUntil;
    await refused(check(subject, token), 'introspection_unavailable');
    clock = staleUntil + BACKOFF_MS;
    await refused(check(subject, token), 'introspection_unavailable');
  });

  it('stale-if-error never outlives exp (plus the clock tolerance)', async () => {
    const exp = seconds() + 30;
    server.handler = answerActive({ exp });
    const subject = introspector();
    const token = newToken();
    await check(subject, token);
    server.handler = answerStatus(500);
    clock = exp * 1000;
    await check(subject, token);
    clock = (exp + OPTIONS.clockToleranceSeconds) * 1000;
    await refused(check(subject, token), 'introspection_unavailable');
  });

  it('a hanging server during stale-if-error: the stale answer comes within the deadline', async () => {
    server.handler = answerActive();
    const subject = introspector();
    const token = newToken();
    const first = await check(subject, token);
    server.handler = () => undefined;
    clock = T0 + OPTIONS.activeCacheSeconds * 1000;
    assert.equal((await check(subject, token)).verified, first.verified);
  });
});

describe('TokenIntrospector: the client secret', () => {
  it('the loader failing: introspection_unavailable naming the source, retried by a later request', async () => {
    server.handler = answerActive();
    const calls: { source: ClientSecretSource; timeoutMs: number }[] = [];
    const loadClientSecret: LoadClientSecret = async (source, timeoutMs) => {
      calls.push({ source, timeoutMs });
      if (calls.length === 1) throw new Error('ParameterNotFound');
      return SECRET;
    };
    const subject = introspector({ clientSecret: { kind: 'ssm', name: '/bearer-gate/introspection-secret' } }, {}, { loadClientSecret });
    await refused(check(subject, newToken()), 'introspection_unavailable', /SSM parameter \/bearer-gate\/introspection-secret: ParameterNotFound/);
    assert.equal(server.introspections.length, 0);
    clock += BACKOFF_MS;
    assert.equal((await check(subject, newToken())).cached, false);
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[0], { source: { kind: 'ssm', name: '/bearer-gate/introspection-secret' }, timeoutMs: OPTIONS.timeoutMs });
    // Loaded once: later requests reuse it.
    await check(subject, newToken());
    assert.equal(calls.length, 2);
    assert.deepEqual(events.filter(({ type }) => type === 'introspection_secret_loaded').map(({ detail }) => detail), ['client secret read from SSM parameter /bearer-gate/introspection-secret']);
    const authorization = server.introspections[0]!.headers['authorization'] ?? '';
    assert.match(Buffer.from(authorization.slice(6), 'base64').toString('utf8'), /^calendar-gate:/);
  });

  it('prefetch starts the secret load at cold start and never throws; a failed load is retried by the first request', async () => {
    server.handler = answerActive();
    let calls = 0;
    const loadClientSecret: LoadClientSecret = async () => {
      calls += 1;
      if (calls === 1) throw new Error('AccessDeniedException');
      return SECRET;
    };
    const subject = introspector({ clientSecret: { kind: 'secretsmanager', id: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:gate' } }, {}, { loadClientSecret });
    subject.prefetch();
    assert.equal(calls, 1);
    // The failed prefetch is forgotten: the first request loads again, and succeeds.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal((await check(subject, newToken())).cached, false);
    assert.equal(calls, 2);
  });

  it('a loader that never settles is cut off: the request is refused within a bound, and the next one loads again', { timeout: 10_000 }, async () => {
    server.handler = answerActive();
    let calls = 0;
    const loadClientSecret: LoadClientSecret = (source) => {
      calls += 1;
      return calls === 1 ? new Promise<string>(() => undefined) : Promise.resolve(source.kind === 'ssm' ? SECRET : '');
    };
    const subject = introspector({ clientSecret: { kind: 'ssm', name: '/hangs' } }, {}, { loadClientSecret });
    // 300 ms + 1 s for the SDK's load: bounded, whatever the loader does.
    // Longer than check()'s own bound; the test's timeout bounds it.
    await refused((async () => subject.check(server.base, newToken()))(), 'introspection_unavailable', /SSM parameter \/hangs: no answer within 1300 ms/);
    clock += BACKOFF_MS;
    assert.equal((await check(subject, newToken())).cached, false);
    assert.equal(calls, 2);
  });

  it('an unknown issuer is an internal error, not a request', () => {
    const subject = introspector();
    assert.throws(() => subject.check('https://unknown.example/', newToken()), (error: unknown) => error instanceof AuthError && error.code === 'internal_error');
    assert.equal(server.seen.length, 0);
  });
});
