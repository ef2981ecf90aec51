/**
 * The per-request contenders. Every one verifies the same pool of tokens against the same warm
 * JWKS server; each handler-based one is its own module instance, configured from the
 * environment at import like a Lambda container.
 */
import assert from 'node:assert/strict';
import { constants, createPublicKey, type JsonWebKey, type VerifyKeyObjectInput, verify } from 'node:crypto';
import type { APIGatewayAuthorizerResult, Context } from 'aws-lambda';
import { policyAllows } from '../test/helpers/policy.js';
import type { TestKey } from '../test/helpers/jwt.js';
import { type DrainedPipe, openDrainedPipe } from './drained-pipe.js';
import { AUDIENCE, type BenchAlgorithm, METHOD_ARN, requestEvent, type RequestEvent, tamper } from './fixtures.js';

type Handler = (event: RequestEvent, context?: Context) => Promise<APIGatewayAuthorizerResult>;

interface ContenderBase {
  name: string;
  /** Bytes of log output per call, for contenders that write through the drained pipe. */
  logBytesPerCall?: () => number;
  /** Asserts that the first token is accepted and a tampered one refused. */
  check(): Promise<void>;
}
/** The floor is a plain synchronous call: no promise, nothing to await. */
export interface SyncContender extends ContenderBase { sync: true; call(index: number): void }
export interface AsyncContender extends ContenderBase { sync: false; call(index: number): Promise<unknown> }
export type Contender = SyncContender | AsyncContender;

export interface ContenderContext {
  alg: BenchAlgorithm;
  key: TestKey;
  tokens: string[];
  issuer: string;
  jwksUri: string;
  jwks: { keys: Record<string, unknown>[] };
}

export const CONTENDER_NAMES = {
  floor: 'floor (crypto.verify)',
  ours: 'ours (handler, cache off)',
  oursCached: 'ours, same token (cache hit)',
  oursLogged: 'ours, decision line on (the default; cache off)',
  oursLoggedCached: 'ours, decision line on, same token (cache hit)',
  powertools: 'aws-jwt-verify + route policy + Powertools Logger and Metrics',
  oursRevocation: 'ours + revocation on (warm list, cache off)',
  oursRevocationCached: 'ours + revocation on, same token (cache hit)',
  oursIntrospectionCached: 'ours, opaque token by introspection (cache hit)',
  floorDpop: 'floor + DPoP proof (two crypto.verify)',
  oursDpop: 'ours + DPoP proof (token and proof checked, cache off)',
  jose: 'jose jwtVerify + createRemoteJWKSet',
  awsJwtVerify: 'aws-jwt-verify (cacheJwks)',
  jsonwebtoken: 'jsonwebtoken + jwks-rsa',
} as const;

/**
 * Imports a fresh instance of `path` (a query string makes it a new module) with `env` in
 * process.env for the duration of its top-level code, which is when the modules read it.
 */
async function importWithEnv<T>(path: string, tag: string, env: Record<string, string>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  try {
    return await import(`${path}?${tag}`) as T;
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

async function assertRefused(promise: Promise<unknown>, name: string): Promise<void> {
  await assert.rejects(promise, /Unauthorized/, `${name} accepted a tampered token`);
}

function handlerContender(name: string, handler: Handler, events: RequestEvent[], tampered: RequestEvent): AsyncContender {
  return {
    name,
    sync: false,
    call: (index) => handler(events[index]!),
    async check() {
      assert.ok(policyAllows(await handler(events[0]!), METHOD_ARN), `${name} did not allow a valid token`);
      await assertRefused(handler(tampered), name);
    },
  };
}

// What Lambda passes: the decision line carries these keys (function_request_id…), so they are paid for.
const LAMBDA_CONTEXT = {
  awsRequestId: '8476a536-e9f4-11e8-9739-2dfe598c3fcd', functionName: 'bearer-gate-dev-authorizer', memoryLimitInMB: '256',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:bearer-gate-dev-authorizer',
} as Context;

// Every logging contender writes to one pipe that another process drains, as Lambda's stdout is.
let pipe: DrainedPipe | undefined;
function drainedPipe(): DrainedPipe {
  if (pipe === undefined) {
    const opened = openDrainedPipe();
    process.once('exit', () => opened.close());
    pipe = opened;
  }
  return pipe;
}

/**
 * Runs the handler with a Lambda context and process.stdout.write swapped for a write to the
 * drained pipe, counting the bytes: what the line costs, as Lambda pays for it.
 */
function pipedStdout(handler: Handler): { handler: Handler; bytesPerCall: () => number } {
  const target = drainedPipe();
  let bytes = 0;
  let calls = 0;
  const sink = ((chunk: string | Uint8Array) => {
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    target.write(chunk);
    return true;
  }) as typeof process.stdout.write;
  return {
    handler: async (event) => {
      calls += 1;
      const original = process.stdout.write;
      process.stdout.write = sink;
      try {
        return await handler(event, LAMBDA_CONTEXT);
      } finally {
        process.stdout.write = original;
      }
    },
    bytesPerCall: () => (calls === 0 ? 0 : bytes / calls),
  };
}

function floor(context: ContenderContext): SyncContender {
  const key = createPublicKey({ key: context.key.jwk as JsonWebKey, format: 'jwk' });
  const options: VerifyKeyObjectInput = context.alg === 'RS256' ? { key, padding: constants.RSA_PKCS1_PADDING } : { key, dsaEncoding: 'ieee-p1363' };
  const split = (token: string) => {
    const dot = token.lastIndexOf('.');
    return { input: Buffer.from(token.slice(0, dot)), signature: Buffer.from(token.slice(dot + 1), 'base64url') };
  };
  const parts = context.tokens.map(split);
  const inputs = parts.map((part) => part.input);
  const signatures = parts.map((part) => part.signature);
  return {
    name: CONTENDER_NAMES.floor,
    sync: true,
    call(index) {
      if (!verify('sha256', inputs[index]!, options, signatures[index]!)) throw new Error('floor: signature did not verify');
    },
    async check() {
      assert.ok(verify('sha256', inputs[0]!, options, signatures[0]!), 'floor did not verify a valid token');
      const forged = split(tamper(context.tokens[0]!));
      assert.ok(!verify('sha256', forged.input, options, forged.signature), 'floor accepted a tampered token');
    },
  };
}

// One dynalite for the revocation rows, with the table and a few hundred entries that do not match
// the pool's tokens (a list in force, as in production); it lives until the bench process exits.
let revocationStore: Promise<string> | undefined;
function revocationEndpoint(issuer: string): Promise<string> {
  revocationStore ??= (async () => {
    const { startDynamoDb } = await import('../local/dynamodb.js');
    const { createRevocationsTable } = await import('../local/revocations.js');
    const { RevocationWriter } = await import('../lib/revocation/revocation-writer.js');
    const { endpoint } = await startDynamoDb({ port: 0, tableName: 'bench-calendar-unused' });
    await createRevocationsTable(endpoint, 'bench-revocations');
    const writer = new RevocationWriter({ tableName: 'bench-revocations', endpoint });
    for (let index = 0; index < 300; index += 1) {
      await writer.revoke({ kind: (['token', 'subject', 'client'] as const)[index % 3]!, issuer, value: `other-${index}` });
    }
    writer.close();
    return endpoint;
  })();
  return revocationStore;
}

// One RFC 7662 endpoint for the introspection row: it knows one opaque token, active for an hour.
const OPAQUE_TOKEN = 'bench-opaque-token-Ak3Hq9ZbV1xW0pLm7cR2sT5uY8n';
let introspectionServer: Promise<string> | undefined;
function introspectionEndpoint(issuer: string): Promise<string> {
  introspectionServer ??= (async () => {
    const { createServer } = await import('node:http');
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const token = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('token');
        const now = Math.floor(Date.now() / 1000);
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(token === OPAQUE_TOKEN
          ? { active: true, iss: issuer, sub: 'alice', client_id: 'calendar-app', scope: 'read write', aud: AUDIENCE, iat: now, exp: now + 3600, token_type: 'Bearer' }
          : { active: false }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    server.unref();
    return `http://127.0.0.1:${(server.address() as { port: number }).port}/introspect`;
  })();
  return introspectionServer;
}

// DPoP: one client key (ES256, as clients use), tokens bound to it, and a proof for every call (a
// proof is accepted once).
const DPOP_DOMAIN = 'abc123.execute-api.eu-west-1.amazonaws.com';
const DPOP_URL = `https://${DPOP_DOMAIN}/prod/calendar/v1/events`;

interface DpopFixture {
  events: RequestEvent[];
  /** Token signing input and signature, proof signing input and signature, per call. */
  parts: { token: { input: Buffer; signature: Buffer }; proof: { input: Buffer; signature: Buffer } }[];
  clientKey: import('node:crypto').KeyObject;
}

async function dpopFixture(context: ContenderContext, calls: number): Promise<DpopFixture> {
  const { generateTestKey, signJwt, userClaims } = await import('../test/helpers/jwt.js');
  const { dpopProof, thumbprintOf } = await import('../test/helpers/dpop.js');
  const client = generateTestKey('ES256', 'bench-dpop-client');
  const now = Math.floor(Date.now() / 1000);
  const pool = Math.min(context.tokens.length, 500);
  const tokens = Array.from({ length: pool }, (_, index) => signJwt(context.key, userClaims(context.issuer, { sub: `usr_${index}`, iat: now, exp: now + 7200, cnf: { jkt: thumbprintOf(client) } })));
  const split = (jws: string) => {
    const dot = jws.lastIndexOf('.');
    return { input: Buffer.from(jws.slice(0, dot)), signature: Buffer.from(jws.slice(dot + 1), 'base64url') };
  };
  const events: RequestEvent[] = [];
  const parts: DpopFixture['parts'] = [];
  for (let call = 0; call < calls; call += 1) {
    const token = tokens[call % pool]!;
    const proof = dpopProof(client, { htm: 'GET', htu: DPOP_URL, token });
    const authorization = `DPoP ${token}`;
    events.push({
      type: 'REQUEST', methodArn: METHOD_ARN, headers: { Authorization: authorization, DPoP: proof }, multiValueHeaders: { Authorization: [authorization], DPoP: [proof] },
      requestContext: { domainName: DPOP_DOMAIN, path: '/prod/calendar/v1/events' },
    } as RequestEvent);
    parts.push({ token: split(token), proof: split(proof) });
  }
  return { events, parts, clientKey: client.publicKey };
}

export async function createContenders(context: ContenderContext): Promise<Contender[]> {
  const { alg, tokens, issuer, jwksUri } = context;
  const events = tokens.map(requestEvent);
  const tampered = requestEvent(tamper(tokens[0]!));
  // No init prefetch here: these rows measure warm requests, and ours then fetches on its first
  // call like the peers, so the JWKS fetches column counts it (the cold-start rows keep the default).
  const base = { AUTH_ISSUER: issuer, AUTH_JWKS_URI: jwksUri, BENCH_AUDIENCE: AUDIENCE, AUTH_LOG_LEVEL: 'silent', AUTH_METRICS: 'false', AUTH_JWKS_SNAPSHOT: '', AUTH_JWKS_PREFETCH: 'false' };

  const ours = await importWithEnv<{ handler: Handler }>('../handlers/authorizer.ts', `${alg}-nocache`, { ...base, AUTH_DECISION_CACHE_SIZE: '0' });
  const cached = await importWithEnv<{ handler: Handler }>('../handlers/authorizer.ts', `${alg}-cache`, { ...base, AUTH_DECISION_CACHE_SIZE: '1000' });
  const logged = pipedStdout((await importWithEnv<{ handler: Handler }>('../handlers/authorizer.ts', `${alg}-logged`, { ...base, AUTH_DECISION_CACHE_SIZE: '0', AUTH_LOG_LEVEL: 'info', AUTH_METRICS: 'true' })).handler);
  const loggedCached = pipedStdout((await importWithEnv<{ handler: Handler }>('../handlers/authorizer.ts', `${alg}-logged-cache`, { ...base, AUTH_DECISION_CACHE_SIZE: '1000', AUTH_LOG_LEVEL: 'info', AUTH_METRICS: 'true' })).handler);
  const powertoolsPeer = await importWithEnv<{ handler: Handler; cacheJwks(jwks: unknown): void }>('./peers/aws-jwt-verify-powertools.ts', alg, { ...base, POWERTOOLS_LOG_LEVEL: 'INFO', AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand' });
  powertoolsPeer.cacheJwks(context.jwks);
  const powertools = pipedStdout(powertoolsPeer.handler);
  const revocation = { AUTH_REVOCATION_TABLE: 'bench-revocations', AUTH_REVOCATION_ENDPOINT: await revocationEndpoint(issuer) };
  const revoking = await importWithEnv<{ handler: Handler }>('../handlers/authorizer.ts', `${alg}-revocation`, { ...base, ...revocation, AUTH_DECISION_CACHE_SIZE: '0' });
  const revokingCached = await importWithEnv<{ handler: Handler }>('../handlers/authorizer.ts', `${alg}-revocation-cache`, { ...base, ...revocation, AUTH_DECISION_CACHE_SIZE: '1000' });
  const introspecting = await importWithEnv<{ handler: Handler }>('../handlers/authorizer.ts', `${alg}-introspection`, {
    ...base, AUTH_DECISION_CACHE_SIZE: '1000', AUTH_INTROSPECTION: 'opaque', AUTH_INTROSPECTION_ENDPOINT: await introspectionEndpoint(issuer),
    AUTH_INTROSPECTION_CLIENT_ID: 'bench-authorizer', AUTH_INTROSPECTION_CLIENT_SECRET: 'bench-secret',
  });
  const opaqueEvent = requestEvent(OPAQUE_TOKEN);
  const dpopCalls = 9_000;
  const dpop = await dpopFixture(context, dpopCalls);
  const dpopHandler = await importWithEnv<{ handler: Handler }>('../handlers/authorizer.ts', `${alg}-dpop`, { ...base, AUTH_DECISION_CACHE_SIZE: '0', AUTH_DPOP_ON_ALL_ROUTES: 'true' });
  const tokenKey = createPublicKey({ key: context.key.jwk as JsonWebKey, format: 'jwk' });
  const tokenOptions: VerifyKeyObjectInput = alg === 'RS256' ? { key: tokenKey, padding: constants.RSA_PKCS1_PADDING } : { key: tokenKey, dsaEncoding: 'ieee-p1363' };
  const proofOptions: VerifyKeyObjectInput = { key: dpop.clientKey, dsaEncoding: 'ieee-p1363' };
  // Each call takes the next proof: the rounds' indexes repeat, proofs may not.
  let dpopCall = 0;
  let floorCall = 0;
  const jose = await importWithEnv<{ handler: Handler }>('./peers/jose.ts', alg, base);
  const awsJwtVerify = await importWithEnv<{ handler: Handler; cacheJwks(jwks: unknown): void }>('./peers/aws-jwt-verify.ts', alg, base);
  const jsonwebtoken = await importWithEnv<{ handler: Handler }>('./peers/jsonwebtoken.ts', alg, base);
  awsJwtVerify.cacheJwks(context.jwks);

  return [
    floor(context),
    handlerContender(CONTENDER_NAMES.ours, ours.handler, events, tampered),
    { ...handlerContender(CONTENDER_NAMES.oursCached, cached.handler, events, tampered), call: () => cached.handler(events[0]!) },
    // The line is built and written to a pipe another process drains, as in Lambda.
    { ...handlerContender(CONTENDER_NAMES.oursLogged, logged.handler, events, tampered), logBytesPerCall: logged.bytesPerCall },
    { ...handlerContender(CONTENDER_NAMES.oursLoggedCached, loggedCached.handler, events, tampered), call: () => loggedCached.handler(events[0]!), logBytesPerCall: loggedCached.bytesPerCall },
    { ...handlerContender(CONTENDER_NAMES.powertools, powertools.handler, events, tampered), logBytesPerCall: powertools.bytesPerCall },
    // The list is refreshed in the background every 5 s while the rounds run, as in a busy container.
    handlerContender(CONTENDER_NAMES.oursRevocation, revoking.handler, events, tampered),
    { ...handlerContender(CONTENDER_NAMES.oursRevocationCached, revokingCached.handler, events, tampered), call: () => revokingCached.handler(events[0]!) },
    // The opaque token is introspected once (check), then every call is an introspection cache hit.
    { ...handlerContender(CONTENDER_NAMES.oursIntrospectionCached, introspecting.handler, [opaqueEvent], requestEvent(`${OPAQUE_TOKEN}x`)), call: () => introspecting.handler(opaqueEvent) },
    {
      name: CONTENDER_NAMES.floorDpop,
      sync: true,
      call() {
        const { token, proof } = dpop.parts[floorCall++ % dpopCalls]!;
        if (!verify('sha256', token.input, tokenOptions, token.signature) || !verify('sha256', proof.input, proofOptions, proof.signature)) throw new Error('floor: a signature did not verify');
      },
      async check() {
        const { token, proof } = dpop.parts[0]!;
        assert.ok(verify('sha256', token.input, tokenOptions, token.signature) && verify('sha256', proof.input, proofOptions, proof.signature));
      },
    },
    {
      name: CONTENDER_NAMES.oursDpop,
      sync: false,
      call: () => dpopHandler.handler(dpop.events[dpopCall++ % dpopCalls]!),
      async check() {
        assert.ok(policyAllows(await dpopHandler.handler(dpop.events[dpopCall++]!), METHOD_ARN), 'DPoP: a valid token and proof were not allowed');
        // The same proof again is a replay.
        await assertRefused(dpopHandler.handler(dpop.events[dpopCall - 1]!), CONTENDER_NAMES.oursDpop);
      },
    },
    handlerContender(CONTENDER_NAMES.jose, jose.handler, events, tampered),
    handlerContender(CONTENDER_NAMES.awsJwtVerify, awsJwtVerify.handler, events, tampered),
    handlerContender(CONTENDER_NAMES.jsonwebtoken, jsonwebtoken.handler, events, tampered),
  ];
}
