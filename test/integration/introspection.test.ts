/**
 * Opaque tokens through the real handler, against a real RFC 7662 server on 127.0.0.1: active,
 * inactive, a refresh token, an outage, garbage and an oversized answer, each ending in the
 * decision it must, bounded in time; and nothing the handler writes holds a token or the secret.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it, mock } from 'node:test';
import { CALENDAR_AUDIENCE, GEOCODING_AUDIENCE } from '../helpers/jwt.js';
import { captureOutput, decideWith } from '../helpers/output-capture.js';
import { arnFor } from '../helpers/policy.js';

type Mode = 'ok' | 'down' | 'garbage' | 'oversized' | 'hang';
const CLIENT_ID = 'bearer-gate-authorizer';
const SECRET = 'introspection-secret: with % & + =';
const now = () => Math.floor(Date.now() / 1000);

/** The tokens this issuer knows, and what introspection says about each. */
const answers = new Map<string, Record<string, unknown>>();
let mode: Mode = 'ok';
const calls: { authorization: string | undefined; body: URLSearchParams }[] = [];
const parked = new Set<http.ServerResponse>();

const server = http.createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const json = (status: number, body: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.url === '/.well-known/openid-configuration') return json(200, { issuer, jwks_uri: `${issuer}jwks.json`, introspection_endpoint: `${issuer}introspect` });
    if (request.url === '/jwks.json') return json(200, { keys: [] });
    if (request.url !== '/introspect' || request.method !== 'POST') return json(404, { error: 'not_found' });
    const body = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    calls.push({ authorization: request.headers.authorization, body });
    if (mode === 'hang') return void parked.add(response);
    if (mode === 'down') return json(503, { error: 'temporarily_unavailable' });
    if (mode === 'garbage') {
      response.writeHead(200, { 'content-type': 'text/html' });
      return void response.end('<html>maintenance</html>');
    }
    if (mode === 'oversized') return json(200, { active: true, padding: 'x'.repeat(64 * 1024) });
    const expected = `Basic ${Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${new URLSearchParams({ s: SECRET }).toString().slice(2)}`).toString('base64')}`;
    if (request.headers.authorization !== expected) return json(401, { error: 'invalid_client' });
    json(200, answers.get(body.get('token') ?? '') ?? { active: false });
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

Object.assign(process.env, {
  AUTH_ISSUER: issuer,
  AUTH_INTROSPECTION: 'opaque',
  AUTH_INTROSPECTION_CLIENT_ID: CLIENT_ID,
  AUTH_INTROSPECTION_CLIENT_SECRET: SECRET,
  AUTH_INTROSPECTION_TIMEOUT_MS: '400',
  AUTH_INTROSPECTION_STALE_IF_ERROR_SECONDS: '0',
  AUTH_JWKS_PREFETCH: 'false',
  AUTH_LOG_LEVEL: 'debug',
});

const captured = captureOutput();
const output = captured.chunks;
const { handler } = await import('../../handlers/authorizer.js');

after(async () => {
  captured.restore();
  for (const response of parked) response.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const given: string[] = [];
let serial = 0;
/** A fresh opaque token (the shape oidc-provider issues: 43 base64url characters), known as `answer`. */
function opaque(answer?: Record<string, unknown>): string {
  serial += 1;
  const token = `${Buffer.from(`opaque-token-${serial}-${process.pid}-padding`).toString('base64url').slice(0, 43)}`;
  given.push(token);
  if (answer !== undefined) answers.set(token, answer);
  return token;
}
const userAnswer = (overrides: Record<string, unknown> = {}) => ({
  active: true, sub: 'alice', client_id: 'calendar-app-opaque', scope: 'read', aud: CALENDAR_AUDIENCE,
  iat: now(), exp: now() + 3600, token_type: 'Bearer', iss: issuer, ...overrides,
});
const rest = (token: string, method = 'GET', path = '/calendar/v1/events') => ({
  type: 'REQUEST', methodArn: arnFor(method, path), resource: path, path, httpMethod: method, headers: { Authorization: `Bearer ${token}` },
});
const httpApi = (token: string, method = 'GET', path = '/calendar/v1/events') => ({
  version: '2.0', type: 'REQUEST', routeArn: arnFor(method, path), routeKey: `${method} ${path}`, rawPath: path,
  headers: { authorization: `Bearer ${token}` }, requestContext: { http: { method, path } },
});

/** The handler's answer and its one decision line. */
const decide = (event: { methodArn?: string; routeArn?: string }) => decideWith(captured, handler, event);

// The introspector backs off for 2 s after a failure; the clock it reads (Date) is moved instead
// of waited for. Timers stay real: deadlines are real.
before(() => mock.timers.enable({ apis: ['Date'], now: Date.now() }));
const passBackoff = (): void => mock.timers.tick(2_100);

describe('opaque tokens through the handler (RFC 7662)', () => {
  it('an active user token is allowed, and a second use asks nobody', async () => {
    const token = opaque(userAnswer());
    const first = await decide(rest(token));
    assert.equal(first.effect, 'Allow', JSON.stringify(first.line));
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.body.get('token_type_hint'), 'access_token');
    const again = await decide(rest(token));
    assert.equal(again.effect, 'Allow');
    assert.equal(calls.length, 1, 'the cached answer served the second request');
    assert.equal(again.line['kid'], undefined);
  });

  it('the scopes of the answer decide, as a JWT\'s do: read may not POST', async () => {
    const token = opaque(userAnswer());
    const denied = await decide(rest(token, 'POST'));
    assert.equal(denied.line['reason'], 'insufficient_scope');
    assert.equal(denied.line['outcome'], 'deny');
  });

  it('a client-credentials answer (no sub) reaches the geocoding API and not the user-only calendar', async () => {
    const token = opaque({ active: true, client_id: 'geocoding-backend-opaque', aud: GEOCODING_AUDIENCE, exp: now() + 600, iat: now(), token_type: 'Bearer' });
    assert.equal((await decide(rest(token, 'GET', '/geocoding/v1/reverse'))).line['outcome'], 'allow');
    const refused = await decide(rest(opaque({ active: true, client_id: 'geocoding-backend-opaque', aud: CALENDAR_AUDIENCE, exp: now() + 600, token_type: 'Bearer' })));
    assert.equal(refused.line['reason'], 'user_token_required');
  });

  it('an inactive token is refused (token_inactive): 401 on REST, an explicit Deny on an HTTP API', async () => {
    const token = opaque();
    const onRest = await decide(rest(token));
    assert.equal(onRest.thrown, 'Unauthorized');
    assert.equal(onRest.line['reason'], 'token_inactive');
    const onHttp = await decide(httpApi(opaque()));
    assert.equal(onHttp.effect, 'Deny');
    assert.equal(onHttp.line['reason'], 'token_inactive');
  });

  it('a refresh token (active, no token_type) is no access token', async () => {
    const refresh = userAnswer({ token_type: undefined });
    const { line } = await decide(rest(opaque(refresh)));
    assert.equal(line['reason'], 'typ_invalid');
  });

  it('a token the issuer says is for another API is refused (audience_mismatch)', async () => {
    const { line } = await decide(rest(opaque(userAnswer({ aud: 'https://api.example.com/other/' }))));
    assert.equal(line['reason'], 'audience_mismatch');
  });

  const FAILURES = { down: /answered HTTP 503/, garbage: /did not answer JSON/, oversized: /byte cap/, hang: /did not answer within 400 ms/ } as const;
  for (const [failure, detail] of Object.entries(FAILURES) as [Mode, RegExp][]) {
    it(`introspection ${failure}: refused as a transient failure (5xx, no policy to cache), within the deadline`, { timeout: 10_000 }, async () => {
      mode = failure;
      try {
        const startedAt = performance.now();
        const { thrown, line } = await decide(rest(opaque(userAnswer())));
        assert.match(thrown ?? '', /Authorizer unavailable/);
        assert.equal(line['reason'], 'introspection_unavailable');
        assert.match(String(line['detail']), detail);
        assert.equal(line['level'], 'ERROR');
        // Bounded: the 400 ms deadline, with room for a loaded machine; never the 5 s Lambda timeout.
        assert.ok(performance.now() - startedAt < 4000, `took ${Math.round(performance.now() - startedAt)} ms`);
        // While it backs off, a new token is refused at once, without a call.
        const before = calls.length;
        const backing = await decide(httpApi(opaque(userAnswer())));
        assert.match(backing.thrown ?? '', /Authorizer unavailable/);
        assert.equal(calls.length, before, 'no call while backing off');
      } finally {
        mode = 'ok';
        for (const response of parked) response.destroy();
        parked.clear();
        passBackoff();
      }
    });
  }

  it('a wrong client secret is an outage of ours, said so in the log, never a verdict on the token', async () => {
    const token = opaque(userAnswer());
    const saved = answers.get(token);
    answers.delete(token);
    const realSecretCalls = calls.length;
    // Simulate a rotated secret: the server now expects another one.
    const original = server.listeners('request')[0] as http.RequestListener;
    server.removeAllListeners('request');
    server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
      request.resume();
      calls.push({ authorization: request.headers.authorization, body: new URLSearchParams() });
      response.writeHead(401, { 'content-type': 'application/json' });
      response.end('{"error":"invalid_client"}');
    });
    try {
      const { thrown, line } = await decide(rest(token));
      assert.match(thrown ?? '', /Authorizer unavailable/);
      assert.equal(line['reason'], 'introspection_unavailable');
      assert.ok(calls.length > realSecretCalls);
      assert.ok(output.join('').includes(`refused the authorizer's client \\"${CLIENT_ID}\\"`), 'the log names our client');
    } finally {
      server.removeAllListeners('request');
      server.on('request', original);
      if (saved) answers.set(token, saved);
      passBackoff();
    }
  });

  it('after an outage, a token refused meanwhile is accepted: a transient failure is never cached', async () => {
    mode = 'down';
    const token = opaque(userAnswer());
    assert.equal((await decide(rest(token))).line['reason'], 'introspection_unavailable');
    mode = 'ok';
    passBackoff();
    assert.equal((await decide(rest(token))).effect, 'Allow');
  });

  it('nothing written holds an opaque token or the client secret', () => {
    const all = output.join('');
    assert.ok(all.includes('"message":"decision"'));
    for (const token of given) assert.ok(!all.includes(token), 'a token reached the output');
    assert.ok(!all.includes(SECRET) && !all.includes(encodeURIComponent(SECRET)), 'the secret reached the output');
  });
});
