import { constants, type KeyObject, verify } from 'node:crypto';

/** The asymmetric JWS algorithms this authorizer can verify. `none` and HS* are never supported. */
export const SUPPORTED_ALGORITHMS = [
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512',
  'EdDSA',
] as const;

export type Algorithm = (typeof SUPPORTED_ALGORITHMS)[number];

export function isSupportedAlgorithm(value: unknown): value is Algorithm {
  return (SUPPORTED_ALGORITHMS as readonly unknown[]).includes(value);
}

interface AlgorithmSpec {
  /** JWK `kty` the key must have. */
  kty: 'RSA' | 'EC' | 'OKP';
  /** JWK `crv` the key must have (EC and OKP). */
  curves?: readonly string[];
  /** Digest for node:crypto, or undefined for EdDSA (the curve fixes it). */
  digest: 'sha256' | 'sha384' | 'sha512' | undefined;
  padding?: number;
  /** Exact length of an ECDSA signature in JOSE (IEEE P1363) form. */
  signatureLength?: number;
}

const SPECS: Record<Algorithm, AlgorithmSpec> = {
  RS256: { kty: 'RSA', digest: 'sha256', padding: constants.RSA_PKCS1_PADDING },
  RS384: { kty: 'RSA', digest: 'sha384', padding: constants.RSA_PKCS1_PADDING },
  RS512: { kty: 'RSA', digest: 'sha512', padding: constants.RSA_PKCS1_PADDING },
  PS256: { kty: 'RSA', digest: 'sha256', padding: constants.RSA_PKCS1_PSS_PADDING },
  PS384: { kty: 'RSA', digest: 'sha384', padding: constants.RSA_PKCS1_PSS_PADDING },
  PS512: { kty: 'RSA', digest: 'sha512', padding: constants.RSA_PKCS1_PSS_PADDING },
  ES256: { kty: 'EC', curves: ['P-256'], digest: 'sha256', signatureLength: 64 },
  ES384: { kty: 'EC', curves: ['P-384'], digest: 'sha384', signatureLength: 96 },
  ES512: { kty: 'EC', curves: ['P-521'], digest: 'sha512', signatureLength: 132 },
  EdDSA: { kty: 'OKP', curves: ['Ed25519', 'Ed448'], digest: undefined },
};

/** Minimum RSA modulus (RFC 7518 §3.3 and §3.5). */
export const MIN_RSA_MODULUS_BITS = 2048;

export interface KeyShape {
  kty: string;
  crv?: string;
  alg?: string;
}

/** Whether a key of this shape may verify a signature made with `alg` (RFC 7517 §4, RFC 7518 §3). */
export function keyFitsAlgorithm(key: KeyShape, alg: Algorithm): boolean {
  const spec = SPECS[alg];
  if (key.kty !== spec.kty) return false;
  if (spec.curves !== undefined && !(spec.curves as readonly (string | undefined)[]).includes(key.crv)) return false;
  // A key pinned to one algorithm by its JWK `alg` must not be used with another.
  return key.alg === undefined || key.alg === alg;
}

/**
 * Verifies a JWS signature with node:crypto directly. This is the per-request hot path: a
 * pre-imported KeyObject and one native call, with no WebCrypto round trip.
 */
export function verifySignature(alg: Algorithm, key: KeyObject, signingInput: string, signature: Buffer): boolean {
  const spec = SPECS[alg];
  if (spec.signatureLength !== undefined && signature.length !== spec.signatureLength) return false;
  const data = Buffer.from(signingInput, 'latin1');
  if (spec.kty === 'RSA') {
    return verify(spec.digest, data, {
      key,
      padding: spec.padding,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    }, signature);
  }
  // ECDSA in JOSE's r || s form; EdDSA (no digest: the curve fixes it) has one signature encoding,
  // and node:crypto ignores dsaEncoding for it.
  return verify(spec.digest, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
}

// Half the order of each curve's group, big-endian at the signature's half length: s above it has
// a twin n − s that verifies as well (ECDSA malleability).
const HALF_ORDERS: Partial<Record<Algorithm, Buffer>> = {};
const half = (alg: Algorithm, hex: string, bytes: number): void => {
  HALF_ORDERS[alg] = Buffer.from((BigInt(`0x${hex}`) >> 1n).toString(16).padStart(bytes * 2, '0'), 'hex');
};
half('ES256', 'FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551', 32);
half('ES384', 'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973', 48);
half('ES512', '01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409', 66);

/**
 * Whether an ECDSA signature (JOSE form, r || s) has s in the lower half of the group order; true
 * for every other algorithm. Both s and n − s verify, so only a low-S rule makes the signature,
 * and the token, one string; but it also refuses the high-S half of what a signer that does not
 * normalise (OpenSSL, Java) issues, so it is opt-in (AUTH_REQUIRE_LOW_S).
 */
export function isLowS(alg: Algorithm, signature: Buffer): boolean {
  const halfOrder = HALF_ORDERS[alg];
  if (halfOrder === undefined) return true;
  const s = signature.subarray(halfOrder.length);
  return s.length === halfOrder.length && Buffer.compare(s, halfOrder) <= 0;
}
