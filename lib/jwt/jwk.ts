/**
 * One JWKS entry as a verification key: the checks on its members, its import into node:crypto,
 * and whether it may verify a given algorithm. Pure: no fetch, no cache, no clock.
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { AuthError } from '../errors.js';
import { type Algorithm, keyFitsAlgorithm, MIN_RSA_MODULUS_BITS } from './algorithms.js';

export type JwkMembers = Record<string, unknown>;

/** A verification key from the issuer's JWKS, imported once and reused for every request. */
export interface TrustedKey {
  kid: string;
  kty: string;
  crv: string | undefined;
  alg: string | undefined;
  key: KeyObject;
  /**
   * The published members that make this key what it is. An issuer may put new material (or a
   * new alg pin) under an old kid: what was verified under the old one must not outlive it.
   */
  fingerprint: string;
}

/** Why a JWKS entry can never be a verification key, from its members alone; undefined if it may be. */
export function jwkRefusal(jwk: JwkMembers): string | undefined {
  const { kid, kty, crv, alg, use } = jwk;
  if (typeof kid !== 'string' || kid === '') return 'it has no "kid"';
  if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP') return `its kty "${String(kty)}" is not a public-key type`;
  if (use !== undefined && use !== 'sig') return `its "use" is "${String(use)}", not "sig"`;
  const keyOps = jwk['key_ops'];
  if (keyOps !== undefined && !(Array.isArray(keyOps) && keyOps.includes('verify'))) return 'its "key_ops" do not include "verify"';
  if (alg !== undefined && typeof alg !== 'string') return 'its "alg" is not a string';
  if (crv !== undefined && typeof crv !== 'string') return 'its "crv" is not a string';
  if ('d' in jwk) return 'it holds private key material';
  return undefined;
}

/** Imports an entry that passed jwkRefusal; the reason as a string if node:crypto refuses it or it is too weak. */
export function importJwk(jwk: JwkMembers): TrustedKey | string {
  const { kid, kty, crv, alg, use, n, e, x, y } = jwk as { kid: string; kty: string; crv: string | undefined; alg: string | undefined } & JwkMembers;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch {
    return 'it is not a valid public JWK';
  }
  if (kty === 'RSA' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_MODULUS_BITS) {
    return `its RSA modulus is under ${MIN_RSA_MODULUS_BITS} bits`;
  }
  return { kid, kty, crv, alg, key, fingerprint: JSON.stringify([kty, crv, alg, use, n, e, x, y]) };
}

/** The KeyObject to verify `alg` with, or a key_unsuitable refusal naming what does not fit. */
export function keyForAlgorithm(key: TrustedKey, alg: Algorithm): KeyObject {
  if (!keyFitsAlgorithm(key, alg)) {
    throw new AuthError('key_unsuitable', `key "${key.kid}" (${key.kty}${key.crv ? ' ' + key.crv : ''}${key.alg ? ', alg ' + key.alg : ''}) cannot verify ${alg}`);
  }
  return key.key;
}
