import { generateKeyPairSync, type KeyObject, sign, constants, randomUUID } from 'node:crypto';

/** A signing key pair with its public JWK, as an issuer would publish it. */
export interface TestKey {
  kid: string;
  alg: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: Record<string, unknown>;
}

export type KeyKind = 'RS256' | 'PS256' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA' | 'RSA1024';

/** Generates a fresh key. `RSA1024` is a deliberately weak key for the key-size rule. */
export function generateTestKey(kind: KeyKind, kid: string = randomUUID()): TestKey {
  let pair: { privateKey: KeyObject; publicKey: KeyObject };
  let alg: string = kind;
  switch (kind) {
    case 'RS256':
    case 'PS256':
      pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
      break;
    case 'RSA1024':
      pair = generateKeyPairSync('rsa', { modulusLength: 1024 });
      alg = 'RS256';
      break;
    case 'ES256':
      pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      break;
    case 'ES384':
      pair = generateKeyPairSync('ec', { namedCurve: 'P-384' });
      break;
    case 'ES512':
      pair = generateKeyPairSync('ec', { namedCurve: 'P-521' });
      break;
    case 'EdDSA':
      pair = generateKeyPairSync('ed25519');
      break;
  }
  const jwk = { ...pair.publicKey.export({ format: 'jwk' }), kid, use: 'sig' } as Record<string, unknown>;
  return { kid, alg, privateKey: pair.privateKey, publicKey: pair.publicKey, jwk };
}

export function jwks(...keys: TestKey[]): { keys: Record<string, unknown>[] } {
  return { keys: keys.map((key) => key.jwk) };
}

export function b64url(value: string | Buffer | Record<string, unknown>): string {
  if (Buffer.isBuffer(value)) return value.toString('base64url');
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

const DIGESTS: Record<string, string> = { 256: 'sha256', 384: 'sha384', 512: 'sha512' };

/** Signs `signingInput` as JWS `alg` would, with node:crypto, so tests control every byte. */
export function signWith(alg: string, privateKey: KeyObject, signingInput: string): Buffer {
  const data = Buffer.from(signingInput);
  const digest = DIGESTS[alg.slice(2)];
  if (alg === 'EdDSA') return sign(null, data, privateKey);
  if (alg.startsWith('RS')) return sign(digest!, data, privateKey);
  if (alg.startsWith('PS')) return sign(digest!, data, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
  if (alg.startsWith('ES')) return sign(digest!, data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  throw new Error(`signWith: unsupported alg ${alg}`);
}

/** Builds a compact JWS from raw header and payload objects, signed by `key` with `key.alg` unless the header says otherwise. */
export function signJwt(key: TestKey, payload: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const fullHeader = { alg: key.alg, typ: 'at+jwt', kid: key.kid, ...header };
  const signingInput = `${b64url(fullHeader)}.${b64url(payload)}`;
  return `${signingInput}.${b64url(signWith(String(fullHeader.alg), key.privateKey, signingInput))}`;
}

export const CALENDAR_AUDIENCE = 'https://api.example.com/calendar/v1/';
export const GEOCODING_AUDIENCE = 'https://api.example.com/geocoding/v1/';

/** Claims of a valid calendar user token issued by `issuer`, valid for an hour from now. */
export function userClaims(issuer: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: issuer,
    sub: 'usr_123',
    aud: CALENDAR_AUDIENCE,
    client_id: 'calendar-app',
    scope: 'read write',
    iat: now,
    exp: now + 3600,
    ...overrides,
  };
}

/** Claims of a valid client-credentials geocoding token. */
export function clientClaims(issuer: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: issuer,
    sub: 'geocoding-backend',
    aud: GEOCODING_AUDIENCE,
    client_id: 'geocoding-backend',
    iat: now,
    exp: now + 3600,
    ...overrides,
  };
}
