/**
 * The local client's DPoP key (RFC 9449) and its proofs, for `npm run token -- --dpop`,
 * `npm run dpop-proof` and the end-to-end tests. The client side uses panva's `dpop` package (a
 * dev dependency): what a real client would use, and a second implementation next to the
 * authorizer's own node:crypto verifier, so the two check each other.
 *
 * The key is an EC P-256 key pair (ES256, which every DPoP server supports), kept as a private
 * JWK in the data folder (.local/, git-ignored), created on first use.
 */
import { webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { calculateThumbprint, generateKeyPair, generateProof, type KeyPair } from 'dpop';

export type { KeyPair } from 'dpop';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/** Where `npm start` and the token commands keep their keys: LOCAL_DATA_DIR, else .local/. */
export function localDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['LOCAL_DATA_DIR'] || join(ROOT, '.local');
}

/** The key file of the local DPoP client in `dataDir`. */
export const dpopKeyFile = (dataDir: string): string => join(dataDir, 'dpop-client-key.json');

/** A fresh key pair, in memory only (the tests' "another client"). */
export async function newDpopKey(): Promise<KeyPair> {
  return generateKeyPair('ES256', { extractable: true });
}

async function fromJwk(jwk: webcrypto.JsonWebKey): Promise<KeyPair> {
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.d !== 'string' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') {
    throw new Error('not an EC P-256 private JWK');
  }
  const { d: _d, ...publicJwk } = jwk;
  const privateKey = await webcrypto.subtle.importKey('jwk', { ...jwk, key_ops: ['sign'] }, EC_P256, false, ['sign']);
  // Extractable: the proof's header carries it as a JWK.
  const publicKey = await webcrypto.subtle.importKey('jwk', { ...publicJwk, key_ops: ['verify'] }, EC_P256, true, ['verify']);
  return { privateKey, publicKey } as KeyPair;
}

/**
 * The key in `file`, or a new one written there first (0600, written whole: a half-written key
 * file is never left for the next command to read).
 */
export async function loadDpopKey(file: string): Promise<KeyPair> {
  if (existsSync(file)) {
    try {
      return await fromJwk(JSON.parse(readFileSync(file, 'utf8')) as webcrypto.JsonWebKey);
    } catch (error) {
      throw new Error(`${file} is not a DPoP key (${error instanceof Error ? error.message : String(error)}); delete it to get a new one (tokens bound to the old key then stop working)`, { cause: error });
    }
  }
  const pair = await newDpopKey();
  const { kty, crv, x, y, d } = await webcrypto.subtle.exportKey('jwk', pair.privateKey);
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify({ kty, crv, x, y, d }), { mode: 0o600 });
  renameSync(temporary, file);
  // Read back, so every command uses the key as stored (and a racing first use settles on one file).
  return fromJwk(JSON.parse(readFileSync(file, 'utf8')) as webcrypto.JsonWebKey);
}

/** The key's RFC 7638 thumbprint: what a token bound to it carries in `cnf.jkt`. */
export async function dpopThumbprint(key: KeyPair): Promise<string> {
  return calculateThumbprint(key.publicKey);
}

/**
 * A fresh proof (new jti, iat now) for one request: `htm` the method, `htu` the URL without its
 * query and fragment (RFC 9449 §4.2), and `ath` when an access token is given (a resource request).
 */
export async function dpopProof(key: KeyPair, method: string, url: string, accessToken?: string): Promise<string> {
  const htu = new URL(url);
  htu.search = '';
  htu.hash = '';
  return generateProof(key, htu.href, method.toUpperCase(), undefined, accessToken);
}
