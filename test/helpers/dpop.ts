/** DPoP proofs (RFC 9449 §4.2) built byte by byte, so tests can break any one part of them. */
import { createHash, randomUUID } from 'node:crypto';
import { b64url, signWith, type TestKey } from './jwt.js';

/** The public JWK a proof carries: the key's public members only (no kid, no use). */
export function publicJwk(key: TestKey): Record<string, unknown> {
  const { kid: _kid, use: _use, ...members } = key.jwk;
  return members;
}

/** RFC 7638 thumbprint, computed independently of lib/dpop/thumbprint.ts. */
export function thumbprintOf(key: TestKey): string {
  const jwk = key.jwk;
  const required = jwk['kty'] === 'EC' ? { crv: jwk['crv'], kty: 'EC', x: jwk['x'], y: jwk['y'] } : jwk['kty'] === 'OKP' ? { crv: jwk['crv'], kty: 'OKP', x: jwk['x'] } : { e: jwk['e'], kty: 'RSA', n: jwk['n'] };
  return createHash('sha256').update(JSON.stringify(required)).digest('base64url');
}

export const ath = (token: string): string => createHash('sha256').update(token).digest('base64url');

export interface ProofParts {
  htm: string;
  htu: string;
  token: string;
  header?: Record<string, unknown>;
  payload?: Record<string, unknown>;
  /** Signs with this key instead (the header still names `key`'s JWK unless `header` says otherwise). */
  signer?: TestKey;
}

/** A proof by `key` for one request; `header` and `payload` override or (undefined) remove members. */
export function dpopProof(key: TestKey, { htm, htu, token, header = {}, payload = {}, signer = key }: ProofParts): string {
  const fullHeader = { typ: 'dpop+jwt', alg: key.alg, jwk: publicJwk(key), ...header };
  const fullPayload = { jti: randomUUID(), htm, htu, iat: Math.floor(Date.now() / 1000), ath: ath(token), ...payload };
  const signingInput = `${b64url(fullHeader)}.${b64url(fullPayload)}`;
  return `${signingInput}.${b64url(signWith(String(fullHeader.alg), signer.privateKey, signingInput))}`;
}
