import type { Revocation } from './revocation-entry.js';

/** What a token says about itself that a revocation can match. */
export interface RevocableToken {
  issuer: string;
  subject: string;
  clientId: string | undefined;
  tokenId?: string | undefined;
  issuedAt?: number | undefined;
}

/** issuer → value → number: nested, so that a lookup builds no key string on the hot path. */
type ByIssuer = Map<string, Map<string, number>>;

function entry(map: ByIssuer, issuer: string): Map<string, number> {
  let values = map.get(issuer);
  if (values === undefined) map.set(issuer, (values = new Map()));
  return values;
}

/** AUTH_CLOCK_TOLERANCE_SECONDS at its largest: a token is accepted up to that long past `exp`. */
export const CLOCK_MARGIN_SECONDS = 300;

/**
 * The revocations a container knows, in memory: a few map lookups per request, no I/O. Pure: the
 * store and the refresh live elsewhere (RevocationRefresher).
 */
export class RevocationList {
  /** (iss, jti) → until when the entry matters. */
  private readonly tokens: ByIssuer = new Map();
  /** (iss, sub) and (iss, client id) → the latest "not before" time. */
  private readonly subjects: ByIssuer = new Map();
  private readonly clients: ByIssuer = new Map();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds an entry; an older "not before" never replaces a newer one. */
  add(revocation: Revocation): void {
    const values = entry(revocation.kind === 'token' ? this.tokens : revocation.kind === 'subject' ? this.subjects : this.clients, revocation.issuer);
    const known = values.get(revocation.value);
    if (known === undefined) this.count += 1;
    const time = revocation.kind === 'token' ? revocation.expiresAt : revocation.notBefore!;
    values.set(revocation.value, known === undefined ? time : Math.max(known, time));
  }

  /**
   * Drops entries that can no longer match a token the authorizer would accept (DynamoDB deletes
   * expired items lazily). A token passes until `exp` plus the clock tolerance, so entries are kept
   * that much longer (CLOCK_MARGIN_SECONDS covers the largest tolerance allowed).
   */
  prune(nowSeconds: number, maxTokenLifetimeSeconds: number): void {
    const sweep = (map: ByIssuer, expired: (time: number) => boolean): void => {
      for (const [issuer, values] of map) {
        for (const [value, time] of values) {
          if (!expired(time)) continue;
          values.delete(value);
          this.count -= 1;
        }
        if (values.size === 0) map.delete(issuer);
      }
    };
    sweep(this.tokens, (until) => until + CLOCK_MARGIN_SECONDS < nowSeconds);
    sweep(this.subjects, (notBefore) => notBefore + maxTokenLifetimeSeconds + 2 * CLOCK_MARGIN_SECONDS < nowSeconds);
    sweep(this.clients, (notBefore) => notBefore + maxTokenLifetimeSeconds + 2 * CLOCK_MARGIN_SECONDS < nowSeconds);
  }

  /**
   * Why the token is revoked, or undefined. A subject or client revocation refuses every token
   * issued before its time, and a token without `iat`, which cannot show it was issued after.
   */
  reasonFor(token: RevocableToken): string | undefined {
    if (this.count === 0) return undefined;
    if (token.tokenId !== undefined && this.tokens.get(token.issuer)?.has(token.tokenId) === true) return 'the token (its jti) is revoked';
    const subjectSince = this.subjects.get(token.issuer)?.get(token.subject);
    if (subjectSince !== undefined && !(token.issuedAt !== undefined && token.issuedAt >= subjectSince)) {
      return `every token of this subject issued before ${subjectSince} is revoked`;
    }
    if (token.clientId !== undefined) {
      const clientSince = this.clients.get(token.issuer)?.get(token.clientId);
      if (clientSince !== undefined && !(token.issuedAt !== undefined && token.issuedAt >= clientSince)) {
        return `every token of this client issued before ${clientSince} is revoked`;
      }
    }
    return undefined;
  }
}
