import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createPrivateKey, type JsonWebKey } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { DescribeTableCommand, DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { startDynamoDb } from '../../local/dynamodb.js';
import { CALENDAR_API, GEOCODING_API, startIssuer } from '../../local/issuer.js';
import { freePort, offlineOutputFilter, type RunningStack, startStack } from '../../local/stack.js';
import { clientCredentialsToken, signInAsBrowser, TokenRequestError, userToken } from '../../local/token-client.js';
import { tryItCommands } from '../../local/try-it.js';
import { b64url, signWith } from '../helpers/jwt.js';

// The whole local stack, as `npm start` runs it, on random ports: real issuer, real dynalite,
// real serverless offline running the bundled authorizer and sample APIs.
const dataDir = mkdtempSync(join(tmpdir(), 'bearer-gate-e2e-'));
let stack: RunningStack;
const output: string[] = [];
const outputEvents = new EventEmitter();

before(async () => {
  stack = await startStack({
    issuerPort: 0, dynamodbPort: 0, apiPort: await freePort(), lambdaPort: await freePort(),
    dataDir, stage: 'dev', startTimeoutMs: 180_000, onOutput: (line) => {
      output.push(line);
      outputEvents.emit('line');
    },
  });
}, { timeout: 200_000 });

after(async () => {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const CALENDAR_ROUTES: [string, string][] = [
  ['GET', '/calendar/v1/events'], ['POST', '/calendar/v1/events'], ['GET', '/calendar/v1/events/00000000-0000-4000-8000-000000000000'],
  ['PUT', '/calendar/v1/events/00000000-0000-4000-8000-000000000000'], ['DELETE', '/calendar/v1/events/00000000-0000-4000-8000-000000000000'],
];

/** Both API Gateway flavours: REST (under /dev) and HTTP API (no stage prefix). */
const flavours = (): [string, string][] => [['REST', stack.restBaseUrl], ['HTTP', stack.apiUrl]];

async function call(base: string, method: string, path: string, token: string | undefined, options: { body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${path}`, {
    method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body), signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json, text };
}

/** A token signed by the local issuer's own key, with claims the issuer would never issue. */
function forgeWithIssuerKey(claims: Record<string, unknown>): string {
  const jwk = JSON.parse(readFileSync(join(dataDir, 'issuer-signing-key.json'), 'utf8')) as JsonWebKey & { kid: string };
  const header = { alg: 'RS256', typ: 'at+jwt', kid: jwk.kid };
  const signingInput = `${b64url(header)}.${b64url(claims)}`;
  return `${signingInput}.${b64url(signWith('RS256', createPrivateKey({ key: jwk, format: 'jwk' }), signingInput))}`;
}

/** serverless offline's lines from index `from` on, once each pattern has matched one (bounded wait). */
function outputUntil(from: number, patterns: RegExp[], timeoutMs = 15_000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      outputEvents.off('line', check);
    };
    const check = (): void => {
      const lines = output.slice(from);
      if (!patterns.every((pattern) => lines.some((line) => pattern.test(line)))) return;
      done();
      resolve(lines);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`not every one of ${patterns.join(', ')} matched within ${timeoutMs} ms; got:\n${output.slice(from).join('\n')}`));
    }, timeoutMs);
    outputEvents.on('line', check);
    check();
  });
}

const event = (title: string, day: number) => ({ title, start: `2026-12-${String(day).padStart(2, '0')}T09:00:00Z`, end: `2026-12-${String(day).padStart(2, '0')}T10:00:00Z` });

describe('end to end through serverless offline', () => {
  it('a geocoding client-credentials token reverse-geocodes central Paris on both APIs', async () => {
    const { access_token: token } = await clientCredentialsToken(stack.issuerUrl, 'geocoding');
    for (const [name, base] of flavours()) {
      const response = await call(base, 'GET', '/geocoding/v1/reverse?lat=48.8566&lng=2.3522', token);
      assert.equal(response.status, 200, `${name}: ${response.text}`);
      const place = response.json?.['place'] as Record<string, unknown>;
      assert.equal(place['name'], 'Paris');
      assert.equal(place['countryCode'], 'FR');
      assert.ok(Number(place['distanceKm']) < 5);
      const invalid = await call(base, 'GET', '/geocoding/v1/reverse?lat=91&lng=2', token);
      assert.equal(invalid.status, 400, name);
    }
  });

  it('the geocoding token is refused on every calendar route (403)', async () => {
    const { access_token: token } = await clientCredentialsToken(stack.issuerUrl, 'geocoding');
    for (const [name, base] of flavours()) {
      for (const [method, path] of CALENDAR_ROUTES) {
        const response = await call(base, method, path, token, method === 'POST' || method === 'PUT' ? { body: event('x', 1) } : {});
        assert.equal(response.status, 403, `${name} ${method} ${path}`);
      }
    }
  });

  it('the issuer refuses the geocoding backend a calendar token, and the no-grant client any token', async () => {
    await assert.rejects(clientCredentialsToken(stack.issuerUrl, 'geocoding', CALENDAR_API), (error: unknown) => error instanceof TokenRequestError && /invalid_target/.test(error.message));
    await assert.rejects(clientCredentialsToken(stack.issuerUrl, 'nogrant', GEOCODING_API), (error: unknown) => error instanceof TokenRequestError && /invalid_target/.test(error.message));
  });

  it('a read user token lists events but cannot create one', async () => {
    const { access_token: token } = await userToken(stack.issuerUrl, 'reader', 'read');
    for (const [name, base] of flavours()) {
      assert.equal((await call(base, 'GET', '/calendar/v1/events', token)).status, 200, name);
      assert.equal((await call(base, 'POST', '/calendar/v1/events', token, { body: event('nope', 2) })).status, 403, name);
    }
  });

  it('a read write user token creates, reads, updates and deletes, with optimistic concurrency', async () => {
    const { access_token: token } = await userToken(stack.issuerUrl, 'alice', 'read write');
    for (const [name, base] of flavours()) {
      const created = await call(base, 'POST', '/calendar/v1/events', token, { body: event(`Standup ${name}`, 3) });
      assert.equal(created.status, 201, `${name}: ${created.text}`);
      const id = String(created.json?.['id']);
      // The Location works as given: with /dev on the REST API, without a prefix on the HTTP API.
      const location = created.headers.get('location') ?? '';
      assert.equal(location, `${new URL(base).pathname.replace(/\/$/, '')}/calendar/v1/events/${id}`, name);
      const read = await call(new URL(base).origin, 'GET', location, token);
      assert.equal(read.status, 200);
      assert.equal(read.json?.['title'], `Standup ${name}`);
      // A form-encoded body is not JSON, even when its text would parse as JSON.
      const form = await fetch(`${base}/calendar/v1/events`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: JSON.stringify(event('Form', 3)), signal: AbortSignal.timeout(30_000),
      });
      assert.equal(form.status, 415, name);
      assert.equal((await form.json() as { error: string }).error, 'unsupported_media_type');
      const listed = await call(base, 'GET', '/calendar/v1/events?from=2026-12-03T00:00:00Z&to=2026-12-04T00:00:00Z', token);
      assert.ok((listed.json?.['events'] as { id: string }[]).some((item) => item.id === id));
      const updated = await call(base, 'PUT', `/calendar/v1/events/${id}`, token, { body: event('Moved', 4), headers: { 'if-match': '"1"' } });
      assert.equal(updated.status, 200, updated.text);
      assert.equal(updated.json?.['version'], 2);
      const stale = await call(base, 'PUT', `/calendar/v1/events/${id}`, token, { body: event('Lost update', 5), headers: { 'if-match': '"1"' } });
      assert.equal(stale.status, 412);
      assert.equal((await call(base, 'DELETE', `/calendar/v1/events/${id}`, token)).status, 204);
      assert.equal((await call(base, 'GET', `/calendar/v1/events/${id}`, token)).status, 404);
    }
  });

  it("a second user cannot see or touch the first user's events", async () => {
    const { access_token: first } = await userToken(stack.issuerUrl, 'carol', 'read write');
    const { access_token: second } = await userToken(stack.issuerUrl, 'mallory', 'read write');
    const created = await call(stack.restBaseUrl, 'POST', '/calendar/v1/events', first, { body: event('Private', 6) });
    const id = String(created.json?.['id']);
    for (const [, base] of flavours()) {
      assert.equal((await call(base, 'GET', `/calendar/v1/events/${id}`, second)).status, 404);
      assert.equal((await call(base, 'PUT', `/calendar/v1/events/${id}`, second, { body: event('Mine now', 6), headers: { 'if-match': '"1"' } })).status, 404);
      assert.equal((await call(base, 'DELETE', `/calendar/v1/events/${id}`, second)).status, 404);
      const list = await call(base, 'GET', '/calendar/v1/events', second);
      assert.deepEqual(list.json?.['events'], []);
    }
    assert.equal((await call(stack.restBaseUrl, 'GET', `/calendar/v1/events/${id}`, first)).json?.['title'], 'Private');
  });

  it('missing, garbage, expired, wrong-audience and untrusted tokens are refused with the right status', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: stack.issuer, sub: 'alice', client_id: 'calendar-app', scope: 'read write', aud: CALENDAR_API, iat: now - 7200 };
    const expired = forgeWithIssuerKey({ ...claims, exp: now - 3600 });
    const wrongAudience = forgeWithIssuerKey({ ...claims, aud: 'https://api.example.com/payroll/v1/', exp: now + 3600 });
    const untrustedIssuer = forgeWithIssuerKey({ ...claims, iss: 'https://evil.example/', exp: now + 3600 });
    const path = '/calendar/v1/events';
    // REST: 401 for every invalid token (the authorizer throws Unauthorized).
    for (const token of [undefined, 'garbage', 'a.b.c', expired, wrongAudience, untrustedIssuer]) {
      assert.equal((await call(stack.restBaseUrl, 'GET', path, token)).status, 401, String(token).slice(0, 12));
    }
    // HTTP API: 401 without an identity source; otherwise a deny policy, which is a 403.
    assert.equal((await call(stack.apiUrl, 'GET', path, undefined)).status, 401);
    for (const token of ['garbage', expired, wrongAudience, untrustedIssuer]) {
      assert.equal((await call(stack.apiUrl, 'GET', path, token)).status, 403);
    }
    // The sanity check that the forging works: the same key and fresh claims are accepted.
    assert.equal((await call(stack.restBaseUrl, 'GET', path, forgeWithIssuerKey({ ...claims, exp: now + 3600 }))).status, 200);
  });

  it('npm start shows one line per decision of serverless offline\'s output, without the block of an expected 401', async () => {
    const { access_token: token } = await userToken(stack.issuerUrl, 'quiet', 'read');
    const path = '/calendar/v1/events';
    // The decision line goes to stdout and serverless offline's own lines to stderr: either may come first.
    const decided = (outcome: string): RegExp => new RegExp(`"message":"decision".*"outcome":"${outcome}"`);
    // [what, base, token, the lines serverless offline prints last for it, the one line to show]
    const cases: [string, string, string | undefined, RegExp[], RegExp][] = [
      ['REST, garbage token: 401', stack.restBaseUrl, 'garbage', [/Authorization function returned an error response/, decided('unauthorized')], decided('unauthorized')],
      ['REST, no header: 401', stack.restBaseUrl, undefined, [/Identity Source is null/], /Identity Source is null/],
      ['HTTP API, garbage token: 403', stack.apiUrl, 'garbage', [/didn't authorize user/, decided('unauthorized')], decided('unauthorized')],
      ['REST, valid token: 200', stack.restBaseUrl, token, [/\(λ: calendar\) RequestId/, decided('allow')], decided('allow')],
    ];
    for (const [what, base, bearer, last, decision] of cases) {
      const from = output.length;
      await call(base, 'GET', path, bearer);
      const lines = await outputUntil(from, last);
      const filter = offlineOutputFilter();
      // (A Lambda instance started for this request may print a runtime warning: warnings do show.)
      const shown = lines.flatMap((line) => filter(line)).filter((line) => !/Warning/.test(line));
      assert.equal(shown.length, 1, `${what}: shown\n${shown.join('\n')}\nof\n${lines.join('\n')}`);
      assert.match(shown[0]!, decision, what);
    }
    // Any other error the authorizer throws is not an expected refusal: it shows.
    const filter = offlineOutputFilter();
    const outage = ["× Unhandled exception in handler 'authorizer'.", '× Error: Authorizer unavailable: the token could not be checked; retry', '      at Ji (file:///x.mjs:3:1)'];
    assert.deepEqual(outage.flatMap((line) => filter(line)), outage.slice(0, 2));
  });

  it('under a bounded mixed load, every decision is right and nothing fails with 5xx', async () => {
    const now = Math.floor(Date.now() / 1000);
    const [geocoding, reader, writer] = [
      (await clientCredentialsToken(stack.issuerUrl, 'geocoding')).access_token,
      (await userToken(stack.issuerUrl, 'loadreader', 'read')).access_token,
      (await userToken(stack.issuerUrl, 'loadwriter', 'read write')).access_token,
    ];
    const expired = forgeWithIssuerKey({ iss: stack.issuer, sub: 'x', client_id: 'calendar-app', scope: 'read', aud: CALENDAR_API, iat: now - 7200, exp: now - 3600 });
    // [token, method, path, expected REST status, expected HTTP API status]
    const cases: [string | undefined, string, string, number, number][] = [
      [geocoding, 'GET', '/geocoding/v1/reverse?lat=35.68&lng=139.69', 200, 200],
      [geocoding, 'GET', '/calendar/v1/events', 403, 403],
      [reader, 'GET', '/calendar/v1/events?limit=5', 200, 200],
      [reader, 'POST', '/calendar/v1/events', 403, 403],
      [writer, 'GET', '/calendar/v1/events', 200, 200],
      [writer, 'GET', '/geocoding/v1/reverse?lat=1&lng=1', 403, 403],
      [expired, 'GET', '/calendar/v1/events', 401, 403],
      ['not.a.jwt', 'GET', '/geocoding/v1/reverse?lat=1&lng=1', 401, 403],
      [undefined, 'GET', '/calendar/v1/events', 401, 401],
    ];
    // Reported, not asserted: serverless offline starts a Lambda instance (a worker thread holding its
    // own copy of the bundle, ~60 MB for the geocoder) whenever every instance is busy, however late
    // in the run, so its RSS follows concurrency, not leaks. test/memory.test.ts holds each function's
    // heap to a tight bound instead.
    const sample = (): string => {
      const text = readFileSync(`/proc/${stack.offlinePid}/status`, 'utf8');
      return `${(Number(/VmRSS:\s+(\d+)/.exec(text)?.[1] ?? 0) / 1024).toFixed(0)} MB/${/Threads:\s+(\d+)/.exec(text)?.[1] ?? '?'} threads`;
    };
    const total = 1800;
    const wrong: string[] = [];
    let serverErrors = 0;
    let next = 0;
    const samples = [sample()];
    const worker = async (): Promise<void> => {
      for (let index = next++; index < total; index = next++) {
        const [token, method, path, restStatus, httpStatus] = cases[index % cases.length]!;
        const http = index % 2 === 1;
        const { status } = await call(http ? stack.apiUrl : stack.restBaseUrl, method, path, token, method === 'POST' ? { body: event('load', 7) } : {});
        if (status >= 500) serverErrors += 1;
        if (status !== (http ? httpStatus : restStatus)) wrong.push(`${http ? 'HTTP' : 'REST'} ${method} ${path}: ${status}`);
        if (index > 0 && (index % (total / 6) === 0 || index === total - 1)) samples.push(sample());
      }
    };
    const began = performance.now();
    await Promise.all(Array.from({ length: 8 }, worker));
    const seconds = (performance.now() - began) / 1000;
    console.log(`load: ${total} requests, 8 connections, ${seconds.toFixed(1)} s (${(total / seconds).toFixed(0)} req/s), ${serverErrors} 5xx, ${wrong.length} wrong, serverless offline ${samples.join(' -> ')}`);
    assert.equal(serverErrors, 0);
    assert.deepEqual(wrong.slice(0, 5), []);
  });

  it('no token ever reaches the logs', () => {
    const all = output.join('\n');
    assert.ok(output.some((line) => line.includes('"message":"decision"')), 'the authorizer logged decisions');
    assert.ok(!/eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/.test(all), 'a JWT reached the logs');
  });
});

/** Whether a fetch failed because nothing listens on the port yet. */
function refused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string } } | undefined)?.cause;
  return cause?.code === 'ECONNREFUSED';
}

describe('the local stack\'s servers answer from their first connection', () => {
  it('the issuer, started with no signing key yet, answers the first request that reaches its port', { timeout: 60_000 }, async () => {
    const empty = mkdtempSync(join(tmpdir(), 'bearer-gate-fresh-'));
    const port = await freePort();
    // Not awaited: the requests below race the start, as a readiness probe or `npm run token` would.
    const starting = startIssuer({ port, keyFile: join(empty, 'issuer-signing-key.json') });
    try {
      const deadline = Date.now() + 30_000;
      let answer: Response | undefined;
      let attempts = 0;
      while (answer === undefined) {
        assert.ok(Date.now() < deadline, `nothing listened on ${port} within 30 s`);
        attempts += 1;
        try {
          // Refused until the issuer listens; once a connection is accepted, the answer must come.
          answer = await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5_000) });
        } catch (error) {
          if (!refused(error)) throw new Error(`the first accepted request was not answered within 5 s (after ${attempts} attempts)`, { cause: error });
        }
      }
      assert.equal(answer.status, 200);
      const issuer = await starting;
      assert.equal((await answer.json() as { issuer: string }).issuer, issuer.issuer);
    } finally {
      await (await starting.catch(() => undefined))?.stop();
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('dynalite hands out its endpoint only once the table is ACTIVE and can be queried', { timeout: 30_000 }, async () => {
    const dynamo = await startDynamoDb({ port: 0, tableName: 'fresh-table-test' });
    const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    try {
      const [described, queried] = await Promise.all([
        client.send(new DescribeTableCommand({ TableName: 'fresh-table-test' })),
        client.send(new QueryCommand({
          TableName: 'fresh-table-test', IndexName: 'byStart', KeyConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' }, ExpressionAttributeValues: { ':owner': { S: 'nobody' } },
        })),
      ]);
      assert.equal(described.Table?.TableStatus, 'ACTIVE');
      assert.deepEqual(queried.Items, []);
    } finally {
      client.destroy();
      await dynamo.stop();
    }
  });
});

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface ScriptRun { code: number | null; stdout: string; stderr: string; ms: number }

/**
 * `npm run --silent <args>` in the repository; after `timeoutMs` it is sent SIGTERM (on which
 * `npm start` stops what it started), and SIGKILL 15 s later. `env` is added to a copy of this
 * process's environment.
 */
function npmRun(args: string[], timeoutMs: number, env: Record<string, string> = {}): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const began = performance.now();
    const child = spawn('npm', ['run', '--silent', ...args], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const signal = (name: NodeJS.Signals): void => {
      try {
        process.kill(-child.pid!, name);
      } catch {
        // Already gone.
      }
    };
    let killer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      signal('SIGTERM');
      killer = setTimeout(() => signal('SIGKILL'), 15_000);
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      clearTimeout(killer);
      resolve({ code, stdout, stderr, ms: performance.now() - began });
    });
  });
}

describe('our scripts answer --help without starting anything', () => {
  // Had --help started the stack, it would hold these ports (not the defaults) until killed.
  const spare = async () => ({
    LOCAL_API_PORT: String(await freePort()), LOCAL_LAMBDA_PORT: String(await freePort()),
    LOCAL_ISSUER_PORT: String(await freePort()), LOCAL_DYNAMODB_PORT: String(await freePort()),
  });

  for (const script of ['start', 'token', 'bench']) {
    for (const flag of ['--help', '-h']) {
      it(`npm run ${script} -- ${flag}: usage on stdout, exit 0, within seconds`, { timeout: 90_000 }, async () => {
        const run = await npmRun([script, '--', flag], 30_000, await spare());
        assert.equal(run.code, 0, `exit ${run.code} after ${run.ms.toFixed(0)} ms (killed at 30 s if null); stderr: ${run.stderr.slice(0, 500)}`);
        assert.match(run.stdout, new RegExp(`^Usage:[^\\n]*npm (run )?${script}`), run.stdout.slice(0, 200));
        assert.ok(run.ms < 20_000, `took ${run.ms.toFixed(0)} ms`);
      });
    }
    it(`npm run ${script} -- --no-such-option: usage on stderr, exit 2, nothing started`, { timeout: 90_000 }, async () => {
      const run = await npmRun([script, '--', '--no-such-option'], 30_000, await spare());
      assert.equal(run.code, 2, `exit ${run.code} after ${run.ms.toFixed(0)} ms; stderr: ${run.stderr.slice(0, 500)}`);
      assert.match(run.stderr, /--no-such-option[\s\S]*Usage:/);
    });
  }
});

describe('the local issuer on Node 20', () => {
  it('loads and runs without oidc-provider\'s "Unsupported runtime" warning, and leaves other warnings alone', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bearer-gate-quiet-'));
    try {
      const script = [
        `const { startIssuer } = await import(${JSON.stringify(join(ROOT, 'local/issuer.ts'))});`,
        `const issuer = await startIssuer({ port: 0, keyFile: ${JSON.stringify(join(dir, 'key.json'))} });`,
        'await issuer.stop();',
        "console.warn('a later warning');",
      ].join('\n');
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
        child.once('close', (exit) => {
          clearTimeout(timer);
          resolve(exit);
        });
      });
      assert.equal(code, 0, stderr);
      assert.doesNotMatch(stderr, /Unsupported runtime/);
      assert.match(stderr, /a later warning/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The environment of a new terminal: none of the local stack's settings. */
function freshTerminalEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined && !entry[0].startsWith('LOCAL_')));
}

describe('what npm start prints works as printed', () => {
  it('the "try it" commands, run in bash in a fresh terminal, work on the ports the stack runs on (none the defaults)', { timeout: 120_000 }, async () => {
    const text = tryItCommands({ issuerUrl: stack.issuerUrl, restBaseUrl: stack.restBaseUrl, apiUrl: stack.apiUrl, stage: 'dev' });
    assert.match(text, new RegExp(`export LOCAL_ISSUER_PORT=${new URL(stack.issuerUrl).port}`));
    // Everything but the browser sign-in, which needs a person; a newline after each output.
    const commands = text.split('\n').filter((line) => !line.includes('--browser')).join('\n');
    const child = spawn('bash', ['-c', `set -euo pipefail\ncurl() { command curl "$@"; echo; }\n${commands}`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: freshTerminalEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
      child.once('close', (exit) => {
        clearTimeout(timer);
        resolve(exit);
      });
    });
    assert.equal(code, 0, `${stderr}\n${stdout}`);
    const [paris, created, restList, httpList] = stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal((paris?.['place'] as { name: string }).name, 'Paris');
    assert.equal(created?.['title'], 'Standup');
    for (const list of [restList, httpList]) assert.ok((list?.['events'] as { id: string }[]).some((item) => item.id === created?.['id']));
    assert.doesNotMatch(stderr, /Unsupported runtime|WARNING/);
  });

  it('npm run token -- --browser prints a URL a browser signs in at, catches the redirect and prints the token', { timeout: 120_000 }, async () => {
    const child = spawn('npm', ['run', '--silent', 'token', '--', '--browser', '--scope', 'read write'], {
      cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...freshTerminalEnv(), LOCAL_ISSUER_PORT: new URL(stack.issuerUrl).port },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const url = await new Promise<URL>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL within 30 s; stderr:\n${stderr}`)), 30_000);
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const printed = /^\s+(http:\/\/\S+)$/m.exec(stderr)?.[1];
        if (printed === undefined) return;
        clearTimeout(timer);
        resolve(new URL(printed));
      });
    });
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    try {
      // The issuer's address, and a loopback redirect of the script's.
      assert.equal(url.origin, new URL(stack.issuerUrl).origin);
      const redirectUri = url.searchParams.get('redirect_uri') ?? '';
      assert.match(redirectUri, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
      const redirect = await signInAsBrowser(url, redirectUri, 'browsing', 'read write');
      // The browser follows the redirect to the script, which answers it with a page.
      const page = await fetch(redirect, { signal: AbortSignal.timeout(10_000) });
      assert.equal(page.status, 200);
      assert.match(await page.text(), /close this tab/);
      assert.equal(await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running after 30 s'), 30_000).unref())]), 0, stderr);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Exited.
      }
    }
    const token = stdout.trim();
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { sub: string; scope: string };
    assert.equal(claims.sub, 'browsing');
    assert.equal(claims.scope, 'read write');
    assert.equal((await call(stack.restBaseUrl, 'GET', '/calendar/v1/events', token)).status, 200);
  });
});

/** Processes whose command line holds `needle` (from /proc), as [pid, process group]. */
function processesWith(needle: string): [number, number][] {
  const found: [number, number][] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').includes(needle)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      found.push([Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2])]);
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

describe('Ctrl-C stops everything npm start started', () => {
  it('even while serverless offline is still starting', { timeout: 120_000 }, async () => {
    const apiPort = String(await freePort());
    const env = {
      ...freshTerminalEnv(), LOCAL_VERBOSE: '1', LOCAL_API_PORT: apiPort, LOCAL_LAMBDA_PORT: String(await freePort()),
      LOCAL_ISSUER_PORT: String(await freePort()), LOCAL_DYNAMODB_PORT: String(await freePort()), LOCAL_DATA_DIR: dataDir,
    };
    const child = spawn('npm', ['start'], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
    // npm itself may end by the signal; `close` comes once npm start's own process is gone too (it shares the pipes).
    const exited = new Promise<string>((resolve) => child.once('close', (code, signal) => resolve(`exited (${code ?? signal})`)));
    try {
      // serverless offline's first line: it runs, and is not ready yet (it takes seconds to bundle).
      await new Promise<void>((resolve, reject) => {
        let stdout = '';
        const timer = setTimeout(() => reject(new Error(`serverless offline said nothing within 60 s:\n${stdout}`)), 60_000);
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          if (!/^ {2}offline \| /m.test(stdout)) return;
          clearTimeout(timer);
          resolve();
        });
      });
      assert.ok(processesWith(`--httpPort ${apiPort}`).length > 0, 'serverless offline is running');
      // What a terminal's Ctrl-C does: SIGINT to the foreground process group.
      process.kill(-child.pid!, 'SIGINT');
      const outcome = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running after 30 s'), 30_000).unref())]);
      assert.match(outcome, /^exited \((0|SIGINT)\)$/);
      assert.deepEqual(processesWith(`--httpPort ${apiPort}`), [], 'serverless offline outlived npm start');
    } finally {
      for (const [, group] of [...processesWith(`--httpPort ${apiPort}`), [0, child.pid!] as [number, number]]) {
        try {
          process.kill(-group, 'SIGKILL');
        } catch {
          // Gone.
        }
      }
    }
  });
});
