/**
 * DPoP proof verification, RFC 9449 §4.3, with node:crypto: the proof is a JWS the client signs
 * with the key its access token is bound to, over the request's method and URL. Pure but for the
 * small cache of imported client keys.
 */
import { createHash, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { AuthError } from '../errors.js';
import { type Algorithm, isSupportedAlgorithm, keyFitsAlgorithm, MIN_RSA_MODULUS_BITS, verifySignature } from '../jwt/algorithms.js';
import { type DecodedJwt, decodeJwt, type JsonObject } from '../jwt/decode.js';
import { LruCache } from '../shared/lru-cache.js';
import { normalizeHtu } from './htu.js';
import { jwkThumbprint } from './thumbprint.js';

/** What the proof must say about the request it came with. */
export interface ProofExpectations {
  /** The request's method, as API Gateway gives it. */
  method: string;
  /** The request's URL as the client used it (scheme, host, path; no query). */
  url: string;
  /** The access token the proof must be bound to (`ath`). */
  accessToken: string;
  /** The token's `cnf.jkt`: the thumbprint of the only key whose proofs count. */
  boundKey: string;
  /** Seconds since the epoch. */
  now: number;
}

export interface ProofRules {
  algorithms: readonly Algorithm[];
  /** How old a proof may be (its `iat`), before the clock tolerance. */
  iatWindowSeconds: number;
  clockToleranceSeconds: number;
}

export interface VerifiedProof {
  jti: string;
  iat: number;
  /** The proof key's thumbprint, equal to the token's `cnf.jkt`. */
  thumbprint: string;
}

// A proof carries a public key and a few short claims; anything larger is not one.
const MAX_PROOF_BYTES = 4096;
const MAX_JTI_LENGTH = 256;
// Members only a private (or symmetric) JWK has: a client that sends them has leaked its key.
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
// Clients reuse one key for many requests: importing it once saves a createPublicKey per request.
const KEY_CACHE_SIZE = 256;

const invalid = (check: string): AuthError => new AuthError('dpop_proof_invalid', `DPoP proof: ${check}`);

/** The SHA-256 of the access token, base64url: a proof's `ath` (RFC 9449 §4.2). */
export function accessTokenHash(token: string): string {
  return createHash('sha256').update(token, 'ascii').digest('base64url');
}

export class DpopProofVerifier {
  private readonly rules: ProofRules;
  private readonly keys = new LruCache<string, KeyObject>(KEY_CACHE_SIZE);
  // A client's proofs share one header ({typ, alg, jwk}): parsed, and its thumbprint taken, once.
  private readonly headers = new LruCache<string, JsonObject>(KEY_CACHE_SIZE);
  private readonly thumbprints = new WeakMap<JsonObject, string | undefined>();

  constructor(rules: ProofRules) {
    this.rules = rules;
  }

  /**
   * The proof's jti and iat once every check of RFC 9449 §4.3 passed (but the replay check, which
   * needs a store: DpopReplayGuard). Throws dpop_proof_invalid naming the check that failed, or
   * dpop_binding_mismatch when the proof is signed by another key than the token's.
   */
  verify(proof: string, expected: ProofExpectations): VerifiedProof {
    if (proof.length > MAX_PROOF_BYTES) throw invalid(`larger than ${MAX_PROOF_BYTES} bytes`);
    let jws: DecodedJwt;
    try {
      jws = decodeJwt(proof, this.headers);
    } catch (error) {
      throw invalid(`not a compact JWS (${error instanceof Error ? error.message : String(error)})`);
    }
    const { header, payload } = jws;
    if (typeof header['typ'] !== 'string' || header['typ'].toLowerCase() !== 'dpop+jwt') throw invalid('"typ" is not "dpop+jwt"');
    // RFC 7515 §4.1.11: no JWS extension is implemented here, so a critical one is refused.
    if (header['crit'] !== undefined) throw invalid('the header has "crit", naming extensions this verifier does not implement');
    const { alg, jwk } = header;
    if (!isSupportedAlgorithm(alg) || !this.rules.algorithms.includes(alg)) throw invalid(`"alg" ${JSON.stringify(alg)} is not an asymmetric algorithm this authorizer accepts (${this.rules.algorithms.join(', ')})`);
    if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw invalid('the header has no "jwk"');
    const members = jwk as Record<string, unknown>;
    const leaked = PRIVATE_MEMBERS.find((name) => name in members);
    if (leaked !== undefined) throw invalid(`the header's "jwk" holds private key material ("${leaked}")`);
    let thumbprint = this.thumbprints.get(header);
    if (thumbprint === undefined) this.thumbprints.set(header, (thumbprint = jwkThumbprint(members)));
    if (thumbprint === undefined) throw invalid('the header\'s "jwk" is not an RSA, EC or OKP public key');
    // The binding first: a proof signed by any other key is refused whatever its signature says.
    if (thumbprint !== expected.boundKey) throw new AuthError('dpop_binding_mismatch', 'the DPoP proof is signed by another key than the one the token is bound to ("cnf.jkt")');
    const key = this.keyOf(thumbprint, members, alg);
    if (!verifySignature(alg, key, jws.signingInput, jws.signature)) throw invalid('the signature does not verify under its "jwk"');

    const { jti, htm, htu, iat, ath } = payload;
    if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) throw invalid(`"jti" is missing or not a string of 1 to ${MAX_JTI_LENGTH} characters`);
    if (htm !== expected.method) throw invalid(`"htm" is ${JSON.stringify(htm)}, not the request's method ${expected.method}`);
    // Clients mostly write the URL as it is normalised: the string comparison settles those.
    if (typeof htu !== 'string' || (htu !== expected.url && normalizeHtu(htu) !== expected.url)) throw invalid(`"htu" is ${JSON.stringify(htu)}, not the request's URL ${expected.url}`);
    const { iatWindowSeconds, clockToleranceSeconds } = this.rules;
    if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalid('"iat" is missing or not a NumericDate');
    if (iat > expected.now + clockToleranceSeconds) throw invalid('"iat" is in the future');
    if (expected.now - iat > iatWindowSeconds + clockToleranceSeconds) throw invalid(`"iat" is more than ${iatWindowSeconds} s old (AUTH_DPOP_IAT_WINDOW_SECONDS)`);
    if (ath !== accessTokenHash(expected.accessToken)) throw invalid('"ath" is not the hash of the access token it came with');
    return { jti, iat, thumbprint };
  }

  private keyOf(thumbprint: string, jwk: Record<string, unknown>, alg: Algorithm): KeyObject {
    const shape = { kty: String(jwk['kty']), crv: typeof jwk['crv'] === 'string' ? jwk['crv'] : undefined, alg: typeof jwk['alg'] === 'string' ? jwk['alg'] : undefined };
    if (!keyFitsAlgorithm(shape, alg)) throw invalid(`its "jwk" (${shape.kty}${shape.crv ? ` ${shape.crv}` : ''}) cannot verify ${alg}`);
    const known = this.keys.get(thumbprint);
    if (known !== undefined) return known;
    let key: KeyObject;
    try {
      // Only the members the thumbprint covers: nothing else of the client's JWK reaches node:crypto.
      const { kty, crv, x, y, n, e } = jwk;
      key = createPublicKey({ key: { kty, crv, x, y, n, e } as JsonWebKey, format: 'jwk' });
    } catch {
      throw invalid('its "jwk" is not a valid public key');
    }
    if (shape.kty === 'RSA' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_MODULUS_BITS) throw invalid(`its RSA key is under ${MIN_RSA_MODULUS_BITS} bits`);
    this.keys.set(thumbprint, key);
    return key;
  }
}
