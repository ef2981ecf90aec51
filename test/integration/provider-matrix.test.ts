/**
 * The provider matrix: tokens as Cognito, Auth0, Okta, Entra ID (v1.0 and v2.0), Keycloak and an
 * RFC 9068 issuer issue them (test/fixtures/provider-tokens.ts, each shape from the provider's
 * documentation), plus real tokens from cognito-local, through one authorizer configured with
 * AUTH_ISSUERS and a route table describing each provider's APIs the way that provider names them.
 * Every provider × case gives the expected outcome and reason code, on real JWKS servers on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { build } from 'esbuild';
import { createAuthorizer, type Decision } from '../../lib/authorizer/authorizer.js';
import { loadConfig } from '../../lib/authorizer/config.js';
import { parseRouteTable } from '../../lib/authorizer/route-table.js';
import { TokenVerifier } from '../../lib/jwt/token-verifier.js';
import { type CognitoUser, provisionUser, type RunningCognito, signIn, startCognitoLocal } from '../../local/cognito.js';
import { freePort } from '../../local/ports.js';
import { type FixtureCase, type Provider, PROVIDERS } from '../fixtures/provider-tokens.js';
import { JwksServer } from '../helpers/jwks-server.js';
import { generateTestKey, jwks, signJwt } from '../helpers/jwt.js';
import { arnFor, policyAllows } from '../helpers/policy.js';

const key = generateTestKey('RS256', 'provider-key');
const slug = (provider: Provider): string => provider.name.replace(/[^a-z0-9]+/g, '-');
const route = (provider: Provider, what: 'events' | 'machine'): string => `/p/${slug(provider)}/${what}`;

let server: JwksServer;
let cognito: RunningCognito;
let cognitoUser: CognitoUser;
let realTokens: { accessToken: string; idToken: string };
let authorize: ReturnType<typeof createAuthorizer>;

function routeTableFor(emulatorClientId: string, emulatorIssuer: string) {
  const apis = PROVIDERS.flatMap((provider) => {
    const { read, write, ...calendar } = provider.calendar;
    const { scope, ...machine } = provider.machine;
    const cognitoIssuers = provider.profile === 'cognito' ? [provider.issuer, emulatorIssuer] : [provider.issuer];
    return [
      { name: `${slug(provider)}-calendar`, ...calendar, issuers: cognitoIssuers, ...(provider.profile === 'cognito' ? { clientIds: [...calendar.clientIds!, emulatorClientId] } : {}), routes: [
        { method: 'GET', path: route(provider, 'events'), scopes: [read], requireUser: true },
        { method: 'POST', path: route(provider, 'events'), scopes: [write], requireUser: true },
      ] },
      { name: `${slug(provider)}-machine`, ...machine, issuers: [provider.issuer], routes: [
        { method: 'GET', path: route(provider, 'machine'), scopes: scope === undefined ? [] : [scope], requireUser: false },
      ] },
    ];
  });
  // A user-only route that needs only what cognito-local grants at sign-in (no custom scopes).
  apis.push({ name: 'cognito-profile', clientIds: [emulatorClientId], shareAudience: true, issuers: [emulatorIssuer], routes: [
    { method: 'GET', path: '/p/cognito/me', scopes: ['aws.cognito.signin.user.admin'], requireUser: true },
  ] } as never);
  return parseRouteTable({ apis });
}

before(async () => {
  server = await new JwksServer().start();
  server.jwks = jwks(key);
  cognito = await startCognitoLocal(await freePort());
  cognitoUser = await provisionUser(cognito, 'alice@example.com');
  realTokens = await signIn(cognito, cognitoUser);
  const emulatorIssuer = cognito.issuerOf(cognitoUser.userPoolId);
  const config = loadConfig({
    AUTH_ISSUERS: JSON.stringify([
      ...PROVIDERS.map((provider) => ({ issuer: provider.issuer, jwksUri: server.jwksUri, profile: provider.profile })),
      { issuer: emulatorIssuer, jwksUri: cognito.jwksUriOf(cognitoUser.userPoolId), profile: 'cognito' },
    ]),
    AUTH_JWKS_PREFETCH: 'false',
  });
  authorize = createAuthorizer({ config, routes: routeTableFor(cognitoUser.clientId, emulatorIssuer), verifier: new TokenVerifier(config) });
});

after(async () => {
  await cognito?.stop();
  await server?.stop();
});

const decide = async (token: string, method: string, path: string): Promise<Decision> =>
  authorize({ type: 'TOKEN', authorizationToken: `Bearer ${token}`, methodArn: arnFor(method, path) });

const tokenOf = (provider: Provider, fixture: FixtureCase, edit: (payload: Record<string, unknown>) => Record<string, unknown> = (payload) => payload): string => {
  const { header, payload } = provider.tokens[fixture];
  // The provider's own header: no `typ` unless it sets one.
  return signJwt(key, edit(payload(Math.floor(Date.now() / 1000))), { typ: undefined, ...header });
};

const aimedAtCalendar = (provider: Provider) => provider.machineAimedAtCalendar
  ?? ((payload: Record<string, unknown>) => ({ ...payload, aud: provider.calendar.audiences![0] }));

type Expected = [Decision['outcome'], string];
const EXPECTED: Record<FixtureCase, { request: [string, 'events' | 'machine']; expected: Expected }[]> = {
  'user read write': [{ request: ['GET', 'events'], expected: ['allow', 'ok'] }, { request: ['POST', 'events'], expected: ['allow', 'ok'] }],
  'user read': [{ request: ['GET', 'events'], expected: ['allow', 'ok'] }, { request: ['POST', 'events'], expected: ['deny', 'insufficient_scope'] }],
  machine: [{ request: ['GET', 'machine'], expected: ['allow', 'ok'] }],
  'id token': [{ request: ['GET', 'events'], expected: ['unauthorized', 'id_token_presented'] }, { request: ['GET', 'machine'], expected: ['unauthorized', 'id_token_presented'] }],
};

const matrix: string[] = [];
const row = (provider: string, fixture: string, request: string, decision: Decision): void => {
  matrix.push(`| ${provider} | ${fixture} | ${request} | ${decision.outcome} | ${decision.reason ?? 'ok'} | ${decision.result === undefined ? '' : (decision.result.context?.['tokenUse'] ?? '')} |`);
};

describe('provider × case: the outcome and reason code', () => {
  for (const provider of PROVIDERS) {
    for (const [fixture, checks] of Object.entries(EXPECTED) as [FixtureCase, typeof EXPECTED[FixtureCase]][]) {
      for (const { request: [method, what], expected } of checks) {
        it(`${provider.name}, ${fixture}: ${method} ${what} → ${expected.join(' ')}`, async () => {
          const path = route(provider, what);
          const decision = await decide(tokenOf(provider, fixture), method, path);
          row(provider.name, fixture, `${method} ${what}`, decision);
          assert.deepEqual([decision.outcome, decision.reason ?? 'ok'], expected, decision.detail);
          if (expected[0] === 'allow') {
            assert.ok(policyAllows(decision.result!, arnFor(method, path)), 'the policy does not allow what the decision says');
            assert.equal(decision.result!.context?.['tokenUse'], fixture === 'machine' ? 'client' : 'user');
          }
        });
      }
    }

    it(`${provider.name}, machine token made out to the calendar with its read scope: GET events → deny user_token_required`, async () => {
      const decision = await decide(tokenOf(provider, 'machine', aimedAtCalendar(provider)), 'GET', route(provider, 'events'));
      row(provider.name, 'machine, aimed at the calendar', 'GET events', decision);
      assert.deepEqual([decision.outcome, decision.reason], ['deny', 'user_token_required'], decision.detail);
      // Nor may the cached policy open any user-only route of that calendar.
      for (const method of ['GET', 'POST']) assert.ok(!policyAllows(decision.result!, arnFor(method, route(provider, 'events'))), method);
    });
  }

  it('a token of one provider never opens another provider\'s API, even with that API\'s audience', async () => {
    const [rfc9068, auth0] = PROVIDERS;
    const crossed = tokenOf(auth0!, 'user read write', (payload) => ({ ...payload, aud: rfc9068!.calendar.audiences![0], scope: 'read write', permissions: ['read', 'write'] }));
    const decision = await decide(crossed, 'GET', route(rfc9068!, 'events'));
    row('auth0 token', 'aud of the rfc9068 calendar', 'GET events', decision);
    assert.deepEqual([decision.outcome, decision.reason], ['unauthorized', 'issuer_not_allowed'], decision.detail);
  });
});

describe('cognito-local: real tokens from InitiateAuth', () => {
  it('the real access token (token_use access, client_id, no aud) is accepted on a user-only route', async () => {
    const payload = JSON.parse(Buffer.from(realTokens.accessToken.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    assert.equal(payload['token_use'], 'access');
    assert.equal(payload['aud'], undefined, 'cognito-local access tokens carry no aud, like Cognito');
    const decision = await decide(realTokens.accessToken, 'GET', '/p/cognito/me');
    row('cognito-local (real)', 'access token', 'GET me', decision);
    assert.deepEqual([decision.outcome, decision.reason], ['allow', undefined], decision.detail);
    assert.equal(decision.result!.context?.['tokenUse'], 'user');
    assert.equal(decision.result!.context?.['clientId'], cognitoUser.clientId);
  });

  it('the real access token lacks the calendar\'s custom scopes: GET events → deny insufficient_scope', async () => {
    const decision = await decide(realTokens.accessToken, 'GET', '/p/cognito/events');
    row('cognito-local (real)', 'access token', 'GET events', decision);
    assert.deepEqual([decision.outcome, decision.reason], ['deny', 'insufficient_scope'], decision.detail);
  });

  it('the real ID token (token_use id, aud = the app client) is refused everywhere as an ID token', async () => {
    for (const path of ['/p/cognito/me', '/p/cognito/events']) {
      const decision = await decide(realTokens.idToken, 'GET', path);
      row('cognito-local (real)', 'ID token', `GET ${path.split('/').pop()}`, decision);
      assert.deepEqual([decision.outcome, decision.reason], ['unauthorized', 'id_token_presented'], decision.detail);
    }
  });
});

describe('cognito-local through the bundled handler, as Lambda runs it', () => {
  it('a Cognito-only table and AUTH_ISSUER_PROFILE=cognito: the real access token is allowed, the real ID token refused', async () => {
    // The stage's table is bundled as '#route-table', exactly as serverless.yml's esbuild alias does.
    const folder = mkdtempSync(join(tmpdir(), 'bearer-gate-cognito-handler-'));
    try {
      const table = join(folder, 'routes.json');
      writeFileSync(table, JSON.stringify({ apis: [{ name: 'profile', clientIds: [cognitoUser.clientId], routes: [
        { method: 'GET', path: '/me', scopes: ['aws.cognito.signin.user.admin'], requireUser: true },
      ] }] }));
      const bundle = join(folder, 'authorizer.mjs');
      await build({
        entryPoints: [new URL('../../handlers/authorizer.ts', import.meta.url).pathname], bundle: true, platform: 'node', format: 'esm',
        target: 'node20', outfile: bundle, alias: { '#route-table': table }, logLevel: 'silent', external: ['@aws-sdk/*'],
      });
      const env = {
        AUTH_ISSUER: cognito.issuerOf(cognitoUser.userPoolId), AUTH_JWKS_URI: cognito.jwksUriOf(cognitoUser.userPoolId),
        AUTH_ISSUER_PROFILE: 'cognito', AUTH_LOG_LEVEL: 'silent', AUTH_METRICS: 'false',
      };
      Object.assign(process.env, env);
      let handler: (event: unknown) => Promise<APIGatewayAuthorizerResult>;
      try {
        ({ handler } = await import(bundle) as { handler: typeof handler });
      } finally {
        for (const name of Object.keys(env)) delete process.env[name];
      }
      const event = (token: string) => ({ type: 'TOKEN', authorizationToken: `Bearer ${token}`, methodArn: arnFor('GET', '/me') });
      const allowed = await handler(event(realTokens.accessToken));
      assert.ok(policyAllows(allowed, arnFor('GET', '/me')));
      assert.equal(allowed.context?.['tokenUse'], 'user');
      await assert.rejects(handler(event(realTokens.idToken)), /^Error: Unauthorized$/);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

after(() => {
  // The matrix as a Markdown table, for the README and the closing note.
  if (process.env['PRINT_PROVIDER_MATRIX'] === '1') console.log(['| provider | case | request | outcome | reason | tokenUse |', '| --- | --- | --- | --- | --- | --- |', ...matrix].join('\n'));
});
