/**
 * DPoP (RFC 9449) end to end, in the documented dpop stage: the local stack (issuer, dynalite,
 * serverless offline) with routes.dpop.json, whose calendar API requires DPoP and whose geocoder
 * keeps Bearer. The issuer binds a token to the client's key (a proof at the token endpoint), the
 * client sends "Authorization: DPoP <token>" with a fresh proof per request, and the authorizer
 * checks it (§4.3) and claims its jti in the replay table on dynalite. Every hostile proof is
 * refused with its reason in the decision line: 401 on the REST API, 403 on the HTTP API (where
 * every definitive refusal is a Deny policy). The README's commands (npm run token -- --dpop,
 * npm run dpop-proof, curl) run as written.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomUUID, webcrypto } from 'node:crypto';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { SignJWT } from 'jose';
import { dpopKeyFile, dpopProof, dpopThumbprint, type KeyPair, loadDpopKey, newDpopKey } from '../../local/dpop-key.js';
import { clientCredentialsToken, userToken } from '../../local/token-client.js';
import { useLocalStack } from '../helpers/local-stack.js';

const root = new URL('../..', import.meta.url).pathname;
const run = promisify(execFile);
/** Every token and proof the tests made: none may ever appear in the stack's output. */
const secrets: string[] = [];
let key: KeyPair;
let token: string;
const local = useLocalStack('dpop-e2e', 'dpop', async (stack) => {
  key = await loadDpopKey(dpopKeyFile(local.dataDir));
  ({ access_token: token } = await userToken(stack.issuerUrl, 'dpop-alice', 'read write', undefined, 'calendar', key));
  secrets.push(token);
});
const { output, dataDir } = local;

const rest = (): string => `${local.stack.restBaseUrl}/calendar/v1/events`;
const http = (): string => `${local.stack.apiUrl}/calendar/v1/events`;
/** Both APIs' calendar URL, each with the status a definitive refusal gets there. */
const refusals = (): [string, number][] => [[rest(), 401], [http(), 403]];

async function proofFor(method: string, url: string, accessToken: string = token, signer: KeyPair = key): Promise<string> {
  const proof = await dpopProof(signer, method, url, accessToken);
  secrets.push(proof);
  return proof;
}

/** A proof with claims of the test's choosing, signed with `signer` (jose, not the dpop package). */
async function handMadeProof(claims: Record<string, unknown>, signer: KeyPair = key): Promise<string> {
  const { kty, crv, x, y } = await webcrypto.subtle.exportKey('jwk', signer.publicKey as webcrypto.CryptoKey);
  const proof = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: { kty: kty!, crv: crv!, x: x!, y: y! } }).sign(signer.privateKey as webcrypto.CryptoKey);
  secrets.push(proof);
  return proof;
}

const ath = (accessToken: string): string => createHash('sha256').update(accessToken).digest('base64url');

async function call(url: string, headers: Record<string, string>, method = 'GET'): Promise<number> {
  const response = await fetch(url, {
    method, headers: { ...headers, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
    body: method === 'POST' ? JSON.stringify({ title: 'DPoP standup', start: '2026-12-01T09:00:00Z', end: '2026-12-01T09:15:00Z' }) : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  await response.arrayBuffer();
  return response.status;
}

const dpopCall = async (url: string, proof: string, method = 'GET', accessToken = token): Promise<number> =>
  call(url, { authorization: `DPoP ${accessToken}`, dpop: proof }, method);

/** The decision line after `from` with `reason`, parsed; fails after `timeoutMs` (the line may trail the answer). */
async function decision(from: number, reason: string, timeoutMs = 5_000): Promise<Record<string, unknown>> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const line = output.slice(from).find((candidate) => candidate.includes(`"reason":"${reason}"`));
    if (line !== undefined) return JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>;
    assert.ok(performance.now() < deadline, `no decision line with ${reason} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Each API refuses a request made by `request` (fresh per URL) with `reason`, and `detail` in the line. */
async function refused(request: (url: string) => Promise<number>, reason: string, detail?: RegExp, statuses: [string, number][] = refusals()): Promise<void> {
  for (const [url, status] of statuses) {
    const from = output.length;
    assert.equal(await request(url), status, url);
    const line = await decision(from, reason);
    if (detail !== undefined) assert.match(String(line['detail']), detail, url);
  }
}

describe('the local issuer binds tokens to the client\'s DPoP key', () => {
  it('a token request with a proof gets token_type DPoP and cnf.jkt, the key\'s thumbprint; one without stays Bearer', async () => {
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { cnf?: { jkt?: string } };
    assert.equal(claims.cnf?.jkt, await dpopThumbprint(key));
    const backend = await clientCredentialsToken(local.stack.issuerUrl, 'geocoding', undefined, key);
    secrets.push(backend.access_token);
    assert.equal(backend.token_type, 'DPoP');
    const bearer = await clientCredentialsToken(local.stack.issuerUrl, 'geocoding');
    secrets.push(bearer.access_token);
    assert.equal(bearer.token_type, 'Bearer');
    assert.equal((JSON.parse(Buffer.from(bearer.access_token.split('.')[1]!, 'base64url').toString('utf8')) as { cnf?: unknown }).cnf, undefined);
  });
});

describe('DPoP through serverless offline (stage dpop: the calendar requires DPoP)', () => {
  it('a valid proof is allowed: 200 on the REST API and on the HTTP API, reads and writes; its jti is claimed in the replay table', { timeout: 120_000 }, async () => {
    assert.equal(await dpopCall(rest(), await proofFor('GET', rest())), 200);
    assert.equal(await dpopCall(http(), await proofFor('GET', http())), 200);
    assert.equal(await dpopCall(rest(), await proofFor('POST', rest()), 'POST'), 201);
    // The proof's URL is signed without the query (RFC 9449 §4.2): a query on the request is fine.
    assert.equal(await dpopCall(`${http()}?limit=5`, await proofFor('GET', http())), 200);
    const client = new DynamoDBClient({ endpoint: local.stack.dynamodbEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    try {
      const { Items = [] } = await client.send(new ScanCommand({ TableName: local.stack.dpopReplayTable }));
      assert.ok(Items.length >= 4, `${Items.length} replay entries`);
      for (const item of Items) {
        assert.ok(Number(item['expiresAt']?.N) > Date.now() / 1000, 'each entry expires, later');
        assert.ok(!secrets.some((secret) => JSON.stringify(item).includes(secret)), 'no token or proof in the table');
      }
    } finally {
      client.destroy();
    }
  });

  it('a replayed proof is refused (dpop_proof_replayed)', { timeout: 120_000 }, async () => {
    for (const [url, status] of refusals()) {
      const proof = await proofFor('GET', url);
      assert.equal(await dpopCall(url, proof), 200, url);
      const from = output.length;
      assert.equal(await dpopCall(url, proof), status, url);
      await decision(from, 'dpop_proof_replayed');
    }
  });

  it('a proof for another method is refused (dpop_proof_invalid: htm)', { timeout: 120_000 }, async () => {
    await refused(async (url) => dpopCall(url, await proofFor('POST', url)), 'dpop_proof_invalid', /"htm" is "POST", not the request's method GET/);
  });

  it('a proof for another URL is refused (dpop_proof_invalid: htu): another path, the other API, another origin', { timeout: 120_000 }, async () => {
    await refused(async (url) => dpopCall(url, await proofFor('GET', `${url}/elsewhere`)), 'dpop_proof_invalid', /"htu" is /);
    // A REST proof on the HTTP API (no stage in the path), and the reverse.
    await refused(async (url) => dpopCall(url, await proofFor('GET', url === rest() ? http() : rest())), 'dpop_proof_invalid', /"htu" is /);
    // 127.0.0.1 reaches the same server, but the public origin is http://localhost:<port>.
    await refused(async (url) => dpopCall(url, await proofFor('GET', url.replace('localhost', '127.0.0.1'))), 'dpop_proof_invalid', /"htu" is /);
  });

  it('a proof whose iat is past the window (300 s) is refused (dpop_proof_invalid: iat)', { timeout: 120_000 }, async () => {
    const stale = Math.floor(Date.now() / 1000) - 400;
    await refused(async (url) => dpopCall(url, await handMadeProof({ htm: 'GET', htu: url, iat: stale, jti: randomUUID(), ath: ath(token) })), 'dpop_proof_invalid', /"iat" is more than 300 s old/);
    // The same proof made now passes: only iat differed.
    for (const [url] of refusals()) {
      assert.equal(await dpopCall(url, await handMadeProof({ htm: 'GET', htu: url, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), ath: ath(token) })), 200, url);
    }
  });

  it('a proof without the token\'s hash, or for another token, is refused (dpop_proof_invalid: ath)', { timeout: 120_000 }, async () => {
    await refused(async (url) => dpopCall(url, await handMadeProof({ htm: 'GET', htu: url, iat: Math.floor(Date.now() / 1000), jti: randomUUID() })), 'dpop_proof_invalid', /"ath"/);
  });

  it('a proof signed by another key is refused (dpop_binding_mismatch), however valid it is otherwise', { timeout: 120_000 }, async () => {
    const thief = await newDpopKey();
    await refused(async (url) => dpopCall(url, await proofFor('GET', url, token, thief)), 'dpop_binding_mismatch');
  });

  it('a bound token sent as Bearer is refused (dpop_proof_required), and so is an unbound one on the calendar, which requires DPoP', { timeout: 120_000 }, async () => {
    await refused(async (url) => call(url, { authorization: `Bearer ${token}` }), 'dpop_proof_required');
    // Even with a valid proof beside it: the scheme says Bearer.
    await refused(async (url) => call(url, { authorization: `Bearer ${token}`, dpop: await proofFor('GET', url) }), 'dpop_proof_required');
    const { access_token: unbound } = await userToken(local.stack.issuerUrl, 'bearer-bob', 'read');
    secrets.push(unbound);
    // That one is an access decision (a Deny policy naming none of the calendar's routes): 403 on both APIs.
    await refused(async (url) => call(url, { authorization: `Bearer ${unbound}` }), 'dpop_proof_required', undefined, [[rest(), 403], [http(), 403]]);
    // An unbound token with the DPoP scheme names no key for the proof to match.
    await refused(async (url) => dpopCall(url, await proofFor('GET', url, unbound), 'GET', unbound), 'dpop_binding_mismatch');
  });

  it('a DPoP request without its proof, or with two, is refused (dpop_proof_invalid)', { timeout: 120_000 }, async () => {
    await refused(async (url) => call(url, { authorization: `DPoP ${token}` }), 'dpop_proof_invalid', /no DPoP header/);
    await refused(async (url) => call(url, { authorization: `DPoP ${token}`, dpop: `${await proofFor('GET', url)}, ${await proofFor('GET', url)}` }), 'dpop_proof_invalid', /more than one DPoP header/);
  });

  it('the geocoder keeps Bearer in this stage', { timeout: 120_000 }, async () => {
    const { access_token: backend } = await clientCredentialsToken(local.stack.issuerUrl, 'geocoding');
    secrets.push(backend);
    for (const base of [local.stack.restBaseUrl, local.stack.apiUrl]) {
      assert.equal(await call(`${base}/geocoding/v1/reverse?lat=48.8566&lng=2.3522`, { authorization: `Bearer ${backend}` }), 200, base);
    }
  });

  it('the README\'s commands work as written: npm run token -- --dpop, then curl with npm run dpop-proof', { timeout: 120_000 }, async () => {
    const env = { ...process.env, LOCAL_DATA_DIR: dataDir, LOCAL_ISSUER_PORT: new URL(local.stack.issuerUrl).port };
    const url = rest();
    // One bash script, as a user types it (the token stays in the shell; only the status is printed).
    const script = [
      'set -euo pipefail',
      'TOKEN=$(npm run --silent token -- --user alice --scope "read write" --dpop)',
      `curl -s -o /dev/null -w '%{http_code}\\n' -H "Authorization: DPoP $TOKEN" -H "DPoP: $(npm run --silent dpop-proof -- --method GET --url ${url} --token "$TOKEN")" ${url}`,
      `curl -s -o /dev/null -w '%{http_code}\\n' -H "Authorization: Bearer $TOKEN" ${url}`,
    ].join('\n');
    const { stdout } = await run('bash', ['-c', script], { cwd: root, env, timeout: 90_000 });
    assert.deepEqual(stdout.trim().split('\n'), ['200', '401']);
  });

  it('never writes a token or a proof to its output', () => {
    assert.ok(secrets.length > 10);
    for (const secret of secrets) assert.ok(!output.some((line) => line.includes(secret)), 'a token or proof in the output');
  });
});
