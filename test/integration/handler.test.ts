import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { APIGatewayAuthorizerResult, Context } from 'aws-lambda';
import { clientClaims, generateTestKey, jwks, signJwt, userClaims } from '../helpers/jwt.js';
import { JwksServer } from '../helpers/jwks-server.js';
import { arnFor, policyAllows } from '../helpers/policy.js';

// The real entry point, loaded the way Lambda loads it: configuration from the environment.
const server = await new JwksServer().start();
process.env['AUTH_ISSUER'] = server.issuer;
process.env['AUTH_JWKS_URI'] = server.jwksUri;
const key = generateTestKey('ES256');
server.jwks = jwks(key);

// Everything the handler writes, to prove no token ever reaches a log.
const output: string[] = [];
const originalWrite = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  output.push(String(chunk));
  return (originalWrite as (...args: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stdout.write;

const { handler } = await import('../../handlers/authorizer.js');
const tokensSeen: string[] = [];
const token = (payload: Record<string, unknown>): string => {
  const value = signJwt(key, payload);
  tokensSeen.push(value);
  return value;
};

const restRequest = (authorization: string | undefined, method: string, path: string) => ({
  type: 'REQUEST', methodArn: arnFor(method, path), resource: path, path, httpMethod: method,
  headers: authorization === undefined ? {} : { Authorization: authorization },
  multiValueHeaders: authorization === undefined ? {} : { Authorization: [authorization] },
});
const restToken = (authorization: string, method: string, path: string) => ({ type: 'TOKEN', authorizationToken: authorization, methodArn: arnFor(method, path) });
const httpRequest = (authorization: string | undefined, method: string, path: string) => ({
  version: '2.0', type: 'REQUEST', routeArn: arnFor(method, path), routeKey: `${method} ${path}`, rawPath: path,
  identitySource: authorization === undefined ? [] : [authorization],
  headers: authorization === undefined ? {} : { authorization },
});

const UNAUTHORIZED = (error: unknown) => error instanceof Error && error.message === 'Unauthorized';
const allows = (result: APIGatewayAuthorizerResult, method: string, path: string) => policyAllows(result, arnFor(method, path));

describe('handler: the three event shapes', () => {
  before(() => { output.length = 0; });
  after(async () => {
    process.stdout.write = originalWrite;
    await server.stop();
  });

  it('init starts the JWKS fetch (AUTH_JWKS_PREFETCH, on by default): the first decision makes none of its own', async () => {
    for (let tries = 0; tries < 1000 && server.jwksRequests === 0; tries += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(server.jwksRequests, 1, 'no request reached the JWKS server before the first event');
    const result = await handler(restRequest(`Bearer ${token(userClaims(server.issuer))}`, 'GET', '/calendar/v1/events'));
    assert.ok(allows(result, 'GET', '/calendar/v1/events'));
    assert.equal(server.jwksRequests, 1);
  });

  it('REST REQUEST: a valid token gets a policy with principalId = sub and a primitive context', async () => {
    const result = await handler(restRequest(`Bearer ${token(userClaims(server.issuer))}`, 'GET', '/calendar/v1/events'));
    assert.equal(result.principalId, 'usr_123');
    assert.ok(allows(result, 'GET', '/calendar/v1/events'));
    assert.ok(allows(result, 'DELETE', '/calendar/v1/events/x'));
    assert.equal(result.context?.['sub'], 'usr_123');
    assert.equal(result.context?.['scope'], 'read write');
    assert.equal(result.context?.['clientId'], 'calendar-app');
    assert.equal(result.context?.['tokenUse'], 'user');
    assert.equal(typeof result.context?.['exp'], 'number');
  });

  it('REST TOKEN: same decision from authorizationToken', async () => {
    const result = await handler(restToken(`bearer ${token(userClaims(server.issuer, { scope: 'read' }))}`, 'GET', '/calendar/v1/events/abc'));
    assert.ok(allows(result, 'GET', '/calendar/v1/events/abc'));
    assert.ok(!allows(result, 'PUT', '/calendar/v1/events/abc'));
  });

  it('REST: a valid token without the scope gets a policy that does not allow the route (403)', async () => {
    const result = await handler(restRequest(`Bearer ${token(userClaims(server.issuer, { scope: 'read' }))}`, 'POST', '/calendar/v1/events'));
    assert.ok(!allows(result, 'POST', '/calendar/v1/events'));
    assert.ok(allows(result, 'GET', '/calendar/v1/events'));
  });

  it('REST: a geocoding client token opens the geocoder and no calendar route', async () => {
    const geocoding = `Bearer ${token(clientClaims(server.issuer, { scope: 'read write' }))}`;
    const onCalendar = await handler(restRequest(geocoding, 'GET', '/calendar/v1/events'));
    assert.ok(!allows(onCalendar, 'GET', '/calendar/v1/events'));
    const onGeocoder = await handler(restRequest(geocoding, 'GET', '/geocoding/v1/reverse'));
    assert.ok(allows(onGeocoder, 'GET', '/geocoding/v1/reverse'));
    assert.equal(onGeocoder.context?.['tokenUse'], 'client');
  });

  it('REST: missing, empty, Basic, garbage, expired and foreign-audience tokens throw Unauthorized (401)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const refused = [
      undefined, '', 'Basic dXNlcjpwYXNz', 'Bearer not-a-jwt', 'Bearer a.b.c',
      `Bearer ${token(userClaims(server.issuer, { exp: now - 60, iat: now - 120 }))}`,
      `Bearer ${token(userClaims(server.issuer, { aud: 'https://api.example.com/payroll/' }))}`,
    ];
    for (const authorization of refused) {
      await assert.rejects(handler(restRequest(authorization, 'GET', '/calendar/v1/events')), UNAUTHORIZED, String(authorization));
    }
    await assert.rejects(handler(restToken('', 'GET', '/calendar/v1/events')), UNAUTHORIZED);
  });

  it('REST: two Authorization headers are refused', async () => {
    const value = `Bearer ${token(userClaims(server.issuer))}`;
    const event = { ...restRequest(value, 'GET', '/calendar/v1/events'), multiValueHeaders: { Authorization: [value, value] } };
    await assert.rejects(handler(event), UNAUTHORIZED);
  });

  it('HTTP API 2.0: a valid token is allowed and a bad one gets a deny policy, never a throw (which would be a 500)', async () => {
    const good = await handler(httpRequest(`Bearer ${token(userClaims(server.issuer))}`, 'PUT', '/calendar/v1/events/abc'));
    assert.ok(allows(good, 'PUT', '/calendar/v1/events/abc'));
    for (const authorization of [undefined, 'Basic x', 'Bearer a.b.c', `Bearer ${token(userClaims(server.issuer, { exp: 1 }))}`]) {
      const result = await handler(httpRequest(authorization, 'GET', '/calendar/v1/events'));
      assert.equal(result.policyDocument.Statement[0]?.Effect, 'Deny');
      assert.ok(!allows(result, 'GET', '/calendar/v1/events'));
      assert.equal(result.context, undefined);
    }
  });

  it('an unrecognised event is refused, not guessed at', async () => {
    for (const event of [null, 42, {}, { type: 'REQUEST' }, { type: 'WEIRD', methodArn: arnFor('GET', '/calendar/v1/events') }, { type: 'TOKEN', authorizationToken: 'Bearer x', methodArn: 'nonsense' }]) {
      await assert.rejects(handler(event), UNAUTHORIZED);
    }
  });

  it('tags the decision line with the invocation (Powertools keys) and the metrics with the service', async () => {
    const lambdaContext = { awsRequestId: 'req-4242', functionName: 'bearer-gate-dev-authorizer', invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:bearer-gate-dev-authorizer', memoryLimitInMB: '256' };
    const before = output.length;
    await handler(restRequest(`Bearer ${token(userClaims(server.issuer))}`, 'GET', '/calendar/v1/events'), lambdaContext as Context);
    const [line] = output.slice(before).join('').split('\n').filter((text) => text.includes('"decision"'));
    const entry = JSON.parse(line!) as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Dimensions: string[][] }[] } };
    assert.equal(entry['level'], 'INFO');
    assert.equal(entry['function_request_id'], 'req-4242');
    assert.equal(entry['function_name'], 'bearer-gate-dev-authorizer');
    assert.equal(entry['service'], 'bearer-gate-authorizer');
    assert.ok(entry._aws.CloudWatchMetrics[0]!.Dimensions.every((set) => set[0] === 'service'));
  });

  it('logs one JSON line per decision with a reason code, and never a token', async () => {
    const lines = output.join('').split('\n').filter((line) => line.includes('"decision"'));
    assert.ok(lines.length >= 20, `saw ${lines.length} decision lines`);
    for (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      assert.ok(['allow', 'deny', 'unauthorized'].includes(String(entry['outcome'])));
      assert.equal(typeof entry['reason'], 'string');
      if (entry['outcome'] === 'allow') assert.equal(entry['reason'], 'ok');
      // Each line is also a CloudWatch metric (EMF) with its dimensions present.
      const directive = (entry['_aws'] as { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] }).CloudWatchMetrics[0]!;
      for (const dimension of directive.Dimensions.flat()) assert.equal(typeof entry[dimension], 'string');
      for (const { Name } of directive.Metrics) assert.equal(typeof entry[Name], 'number');
    }
    assert.ok(lines.some((line) => line.includes('"DecisionCacheHits":1')), 'a repeated token was answered from the decision cache');
    const all = output.join('');
    for (const seen of tokensSeen) {
      const [header, payload, signature] = seen.split('.');
      assert.ok(!all.includes(seen) && !all.includes(payload!) && !all.includes(signature!) && !all.includes(header!), 'a token part reached the log');
    }
    assert.ok(!/Bearer +[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/i.test(all) && !all.includes('dXNlcjpwYXNz'), 'an Authorization header reached the log');
  });
});

describe('handler: a prefetch that fails at init', () => {
  /** Loads the handler in a fresh process (as Lambda would) and runs `body` after init; exits 1 on any unhandled rejection. */
  function inFreshProcess(env: Record<string, string>, body: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const script = `
      process.on('unhandledRejection', (reason) => { console.error('UNHANDLED', reason); process.exit(1); });
      const { handler } = await import(${JSON.stringify(new URL('../../handlers/authorizer.ts', import.meta.url).href)});
      ${body}
    `;
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        env: { PATH: process.env['PATH'] ?? '', AUTH_METRICS: 'false', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.once('error', reject);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  it('neither crashes init nor leaves an unhandled rejection; the first call fetches for itself', { timeout: 60_000 }, async () => {
    const own = await new JwksServer().start();
    try {
      own.mode = 'error';
      own.jwks = jwks(key);
      const valid = signJwt(key, userClaims(own.issuer));
      const event = restRequest(`Bearer ${valid}`, 'GET', '/calendar/v1/events');
      // The prefetch gets a 500; the server recovers as soon as it has answered it, and the first
      // event arrives well after that.
      const body = `
        await new Promise((resolve) => setTimeout(resolve, 300));
        const result = await handler(${JSON.stringify(event)});
        console.log('DECISION', result.policyDocument.Statement.map((statement) => statement.Effect).join(','));
      `;
      const poll = setInterval(() => {
        if (own.jwksRequests >= 1) own.mode = 'ok';
      }, 1);
      const { code, stdout, stderr } = await inFreshProcess({ AUTH_ISSUER: own.issuer, AUTH_JWKS_URI: own.jwksUri }, body);
      clearInterval(poll);
      assert.equal(code, 0, stderr);
      assert.match(stdout, /"message":"jwks_fetch_failed"/);
      assert.match(stdout, /DECISION Allow/);
      assert.equal(own.jwksRequests, 2, 'the prefetch, then the first call\'s own fetch');
    } finally {
      await own.stop();
    }
  });

  it('with revocation on, every cold start logs what happens when the table cannot be read (and fail open at WARN)', { timeout: 60_000 }, async () => {
    const body = 'await new Promise((resolve) => setTimeout(resolve, 50));';
    const base = { AUTH_ISSUER: 'https://issuer.example/', AUTH_JWKS_URI: 'https://issuer.example/jwks', AUTH_JWKS_PREFETCH: 'false', AUTH_REVOCATION_TABLE: 'revocations', AUTH_REVOCATION_ENDPOINT: 'http://127.0.0.1:9', AUTH_REVOCATION_TIMEOUT_MS: '100' };
    const closed = await inFreshProcess(base, body);
    assert.equal(closed.code, 0, closed.stderr);
    assert.match(closed.stdout, /"level":"INFO","message":"revocation_config".*"whenStale":"refuse \(revocation_unavailable\)"/);
    const open = await inFreshProcess({ ...base, AUTH_REVOCATION_FAIL_OPEN: 'true' }, body);
    assert.equal(open.code, 0, open.stderr);
    assert.match(open.stdout, /"level":"WARN","message":"revocation_config".*"whenStale":"allow \(AUTH_REVOCATION_FAIL_OPEN=true\)"/);
  });

  it('with the JWKS server unreachable, init completes and the first call fails as an outage (5xx, not cached), not as a verdict', { timeout: 60_000 }, async () => {
    const gone = await new JwksServer().start();
    const { issuer, jwksUri } = gone;
    await gone.stop();
    const token = `Bearer ${signJwt(key, userClaims(issuer))}`;
    const rest = restRequest(token, 'GET', '/calendar/v1/events');
    const http = { version: '2.0', type: 'REQUEST', routeArn: arnFor('GET', '/calendar/v1/events'), headers: { authorization: token } };
    const { code, stdout, stderr } = await inFreshProcess({ AUTH_ISSUER: issuer, AUTH_JWKS_URI: jwksUri, AUTH_JWKS_TIMEOUT_MS: '500' }, `
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (const [name, event] of [['REST', ${JSON.stringify(rest)}], ['HTTP', ${JSON.stringify(http)}]]) {
        const outcome = await handler(event).then((result) => 'returned ' + JSON.stringify(result), (error) => 'threw ' + error.message);
        console.log('OUTCOME', name, outcome);
      }
    `);
    assert.equal(code, 0, stderr);
    // Not "Unauthorized" (a 401 telling the client its token is bad), and on HTTP APIs no Deny
    // policy (API Gateway would cache it for the token): an error, which it answers as a failure.
    assert.match(stdout, /OUTCOME REST threw Authorizer unavailable/);
    assert.match(stdout, /OUTCOME HTTP threw Authorizer unavailable/);
    assert.doesNotMatch(stdout, /OUTCOME \w+ (returned|threw Unauthorized)/);
    assert.match(stdout, /"reason":"jwks_unavailable"/);
  });
});
