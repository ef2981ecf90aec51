/**
 * Opaque tokens end to end (RFC 7662): the local stack (issuer, dynalite, serverless offline), the
 * issuer's opaque access tokens and its introspection endpoint, then the authorizer checking them
 * there. An active token works on both APIs; an inactive one (unknown, or revoked before the
 * authorizer ever saw it) is refused as token_inactive; one the authorizer had found active and
 * that is then revoked at the issuer (RFC 7009) is refused within the revocation refresh interval
 * (token_revoked, through the revocation entry the issuer's hook writes, keyed on
 * opaqueTokenId). REST refusals are 401, HTTP API ones 403 (a Deny policy: a throw would be a 500).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { CALENDAR_API, CLIENTS, GEOCODING_API } from '../../local/clients.js';
import { clientCredentialsToken, revokeToken, userToken } from '../../local/token-client.js';
import { opaqueTokenId } from '../../lib/introspection/opaque-token-id.js';
import { PARTITION } from '../../lib/revocation/revocation-entry.js';
import { useLocalStack } from '../helpers/local-stack.js';

const local = useLocalStack('introspection-e2e');
const { output } = local;
/** Every opaque token the tests got: none may ever appear in the stack's output. */
const tokens: string[] = [];

const OPAQUE = /^[A-Za-z0-9_-]{43}$/;

async function opaqueGeocodingToken(): Promise<string> {
  const { access_token: token } = await clientCredentialsToken(local.stack.issuerUrl, 'geocodingOpaque');
  assert.match(token, OPAQUE, 'the opaque client gets an opaque token');
  tokens.push(token);
  return token;
}

async function opaqueUserToken(user: string, scope: string): Promise<string> {
  const { access_token: token } = await userToken(local.stack.issuerUrl, user, scope, undefined, 'calendarOpaque');
  assert.match(token, OPAQUE, 'the opaque app gets an opaque token');
  tokens.push(token);
  return token;
}

const basic = (id: string, secret: string): string => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const AUTHORIZER = basic(CLIENTS.authorizer.id, CLIENTS.authorizer.secret);

async function introspect(token: string, authorization: string = AUTHORIZER): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(new URL('token/introspection', local.stack.issuerUrl), {
    method: 'POST', headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ token }), signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: await response.json() as Record<string, unknown> };
}

const status = async (url: string, token: string): Promise<number> =>
  (await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(30_000) })).status;

/** Resolves once a line after `from` contains `text`; fails after `timeoutMs` (the decision line may trail the answer). */
async function outputLine(from: number, text: string, timeoutMs = 5_000): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const line = output.slice(from).find((candidate) => candidate.includes(text));
    if (line !== undefined) return line;
    assert.ok(performance.now() < deadline, `no output line with ${text} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const geocoding = (base: string): string => `${base}/geocoding/v1/reverse?lat=48.8566&lng=2.3522`;
const calendar = (base: string): string => `${base}/calendar/v1/events`;
/** Each URL with the status a refused token gets there. */
const refusals = (path: (base: string) => string): Record<string, number> => ({ [path(local.stack.restBaseUrl)]: 401, [path(local.stack.apiUrl)]: 403 });

describe('the local issuer: opaque access tokens and RFC 7662 introspection', () => {
  it('advertises its introspection endpoint in discovery', async () => {
    const discovery = await (await fetch(new URL('.well-known/openid-configuration', local.stack.issuerUrl), { signal: AbortSignal.timeout(10_000) })).json() as Record<string, unknown>;
    // oidc-provider writes the endpoints for the host the request came to: here, the loopback address.
    assert.equal(discovery['introspection_endpoint'], new URL('token/introspection', local.stack.issuerUrl).href);
  });

  it('answers the authorizer for an opaque client-credentials token: active, the client, the geocoding audience, no jti (the token is its own id)', async () => {
    const token = await opaqueGeocodingToken();
    const { status: answer, body } = await introspect(token);
    assert.equal(answer, 200);
    assert.equal(body['active'], true);
    assert.equal(body['client_id'], CLIENTS.geocodingOpaque.id);
    assert.equal(body['aud'], GEOCODING_API);
    assert.equal(body['iss'], local.stack.issuer);
    assert.equal(body['token_type'], 'Bearer');
    assert.equal(body['sub'], undefined);
    assert.equal(body['jti'], undefined);
    assert.ok(typeof body['exp'] === 'number' && body['exp'] > Date.now() / 1000);
  });

  it('answers for an opaque user token: the user, the scopes granted, the calendar audience', async () => {
    const token = await opaqueUserToken('opaque-alice', 'read write');
    const { body } = await introspect(token);
    assert.equal(body['active'], true);
    assert.equal(body['sub'], 'opaque-alice');
    assert.equal(body['client_id'], CLIENTS.calendarOpaque.id);
    assert.equal(body['aud'], CALENDAR_API);
    assert.deepEqual(String(body['scope']).split(' ').sort(), ['read', 'write']);
  });

  it('lets a client introspect its own tokens only, and the authorizer only with its secret; the JWT clients still get JWTs', async () => {
    const token = await opaqueGeocodingToken();
    assert.equal((await introspect(token, basic(CLIENTS.geocodingOpaque.id, CLIENTS.geocodingOpaque.secret))).body['active'], true);
    assert.deepEqual((await introspect(token, basic(CLIENTS.geocoding.id, CLIENTS.geocoding.secret))).body, { active: false });
    const wrongSecret = await introspect(token, basic(CLIENTS.authorizer.id, 'not-the-secret'));
    assert.equal(wrongSecret.status, 401);
    assert.equal(wrongSecret.body['error'], 'invalid_client');
    assert.equal((await clientCredentialsToken(local.stack.issuerUrl, 'geocoding')).access_token.split('.').length, 3);
    assert.equal((await userToken(local.stack.issuerUrl, 'jwt-alice', 'read')).access_token.split('.').length, 3);
  });

  it('revokes an opaque token (RFC 7009): introspection says inactive, and the revocation entry holds opaqueTokenId, never the token', async () => {
    const token = await opaqueGeocodingToken();
    await revokeToken(local.stack.issuerUrl, 'geocodingOpaque', token);
    assert.deepEqual((await introspect(token)).body, { active: false });
    const client = new DynamoDBClient({ endpoint: local.stack.dynamodbEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    try {
      // The hook writes in the background: poll, bounded.
      const deadline = performance.now() + 5_000;
      let values: string[] = [];
      while (!values.includes(opaqueTokenId(token))) {
        assert.ok(performance.now() < deadline, 'no revocation entry for the token within 5 s');
        await new Promise((resolve) => setTimeout(resolve, 100));
        const { Items = [] } = await client.send(new QueryCommand({ TableName: local.stack.revocationsTable, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: PARTITION } } }));
        values = Items.filter((item) => item['kind']?.S === 'token' && item['iss']?.S === local.stack.issuer).map((item) => item['value']?.S ?? '');
      }
      assert.ok(!values.includes(token), 'the table never holds the token itself');
    } finally {
      client.destroy();
    }
  });
});

describe('opaque tokens through serverless offline (the authorizer introspects)', () => {
  it('an active opaque token is allowed on both APIs: client credentials on the geocoding API, a user on the calendar API', { timeout: 120_000 }, async () => {
    const backend = await opaqueGeocodingToken();
    for (const url of Object.keys(refusals(geocoding))) assert.equal(await status(url, backend), 200, url);
    const user = await opaqueUserToken('opaque-bob', 'read');
    for (const url of Object.keys(refusals(calendar))) assert.equal(await status(url, user), 200, url);
    // The scope still decides: a read-only token may not write.
    const write = await fetch(calendar(local.stack.restBaseUrl), {
      method: 'POST', headers: { authorization: `Bearer ${user}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Standup', start: '2026-12-01T09:00:00Z', end: '2026-12-01T09:15:00Z' }), signal: AbortSignal.timeout(30_000),
    });
    assert.equal(write.status, 403);
  });

  it('an inactive token is refused (token_inactive): one the issuer never issued, and one revoked before the authorizer saw it', { timeout: 120_000 }, async () => {
    const unknown = randomBytes(32).toString('base64url');
    assert.match(unknown, OPAQUE);
    tokens.push(unknown);
    const revoked = await opaqueGeocodingToken();
    await revokeToken(local.stack.issuerUrl, 'geocodingOpaque', revoked);
    for (const token of [unknown, revoked]) {
      for (const [url, refusal] of Object.entries(refusals(geocoding))) {
        const from = output.length;
        assert.equal(await status(url, token), refusal, url);
        await outputLine(from, '"reason":"token_inactive"');
      }
    }
  });

  it('a token revoked at the issuer after use is refused (token_revoked) on both APIs within the refresh interval', { timeout: 120_000 }, async () => {
    const user = await opaqueUserToken('opaque-carol', 'read');
    const backend = await opaqueGeocodingToken();
    const cases: [string, string, (base: string) => string][] = [['calendarOpaque', user, calendar], ['geocodingOpaque', backend, geocoding]];
    for (const [, token, path] of cases) {
      for (const url of Object.keys(refusals(path))) assert.equal(await status(url, token), 200, url);
    }
    const from = output.length;
    for (const [client, token] of cases) await revokeToken(local.stack.issuerUrl, client as 'calendarOpaque' | 'geocodingOpaque', token);
    const revokedAt = performance.now();

    // The authorizer remembers each token as active (introspection cache); the revocation entry
    // reaches every instance within the refresh interval (5 s): poll, bounded, until all refuse.
    const refusedAt: number[] = [];
    for (const [, token, path] of cases) {
      for (const [url, refusal] of Object.entries(refusals(path))) {
        for (;;) {
          const answer = await status(url, token);
          if (answer === refusal) break;
          assert.equal(answer, 200, `${url} answered ${answer} before refusing`);
          assert.ok(performance.now() - revokedAt < 15_000, `${url} still allows the token 15 s after its revocation`);
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        refusedAt.push(performance.now() - revokedAt);
      }
    }
    console.log(`revoked opaque tokens refused after ${refusedAt.map((ms) => `${Math.round(ms)} ms`).join(', ')}`);
    await outputLine(from, '"reason":"token_revoked"');
    // A token of the same user issued after is untouched.
    const fresh = await opaqueUserToken('opaque-carol', 'read');
    for (const url of Object.keys(refusals(calendar))) assert.equal(await status(url, fresh), 200, url);
  });

  it('never writes a token or the introspection secret to its output', () => {
    assert.ok(tokens.length > 0);
    for (const token of tokens) assert.ok(!output.some((line) => line.includes(token)), 'a token in the output');
    assert.ok(!output.some((line) => line.includes(CLIENTS.authorizer.secret)), 'the introspection secret in the output');
  });
});
