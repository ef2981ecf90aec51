import type { Revocation } from './revocation-entry.js';

/** What a token says about itself that a revocation can match. */
export interface RevocableToken {
  issuer: string;
  subject: string;
  clientId: string | undefined;
  tokenId?: string | undefined;
  issuedAt?: number | undefined;
}

const key = (issuer: string, value: string): string => `${issuer}\u0000${value}`;

/** AUTH_CLOCK_TOLERANCE_SECONDS at its largest: a token is accepted up to that long past `exp`. */
export const CLOCK_MARGIN_SECONDS = 300;

/**
 * The revocations a container knows, in memory: a few map lookups per request, no I/O. Pure: the
 * store and the refresh live elsewhere (RevocationRefresher).
 */
export class RevocationList {
  /** (iss, jti) → until when the entry matters. */
  private readonly tokens = new Map<string, number>();
  /** (iss, sub) and (iss, client id) → the latest "not before" time. */
  private readonly subjects = new Map<string, number>();
  private readonly clients = new Map<string, number>();

  get size(): number {
    return this.tokens.size + this.subjects.size + this.clients.size;
  }

  /** Adds an entry; an older "not before" never replaces a newer one. */
  add(revocation: Revocation): void {
    const id = key(revocation.issuer, revocation.value);
    if (revocation.kind === 'token') {
      this.tokens.set(id, Math.max(this.tokens.get(id) ?? 0, revocation.expiresAt));
      return;
    }
    const map = revocation.kind === 'subject' ? this.subjects : this.clients;
    map.set(id, Math.max(map.get(id) ?? -Infinity, revocation.notBefore!));
  }

  /**
   * Drops entries that can no longer match a token the authorizer would accept (DynamoDB deletes
   * expired items lazily). A token passes until `exp` plus the clock tolerance, so entries are kept
   * that much longer (CLOCK_MARGIN_SECONDS covers the largest tolerance allowed).
   */
  prune(nowSeconds: number, maxTokenLifetimeSeconds: number): void {
    for (const [id, until] of this.tokens) if (until + CLOCK_MARGIN_SECONDS < nowSeconds) this.tokens.delete(id);
    for (const map of [this.subjects, this.clients]) {
      for (const [id, notBefore] of map) if (notBefore + maxTokenLifetimeSeconds + 2 * CLOCK_MARGIN_SECONDS < nowSeconds) map.delete(id);
    }
  }

  /**
   * Why the token is revoked, or undefined. A subject or client revocation refuses every token
   * issued before its time, and a token without `iat`, which cannot show it was issued after.
   */
  reasonFor(token: RevocableToken): string | undefined {
    if (this.size === 0) return undefined;
    if (token.tokenId !== undefined && this.tokens.has(key(token.issuer, token.tokenId))) return 'the token (its jti) is revoked';
    const subjectSince = this.subjects.get(key(token.issuer, token.subject));
    if (subjectSince !== undefined && !(token.issuedAt !== undefined && token.issuedAt >= subjectSince)) {
      return `every token of this subject issued before ${subjectSince} is revoked`;
    }
    if (token.clientId !== undefined) {
      const clientSince = this.clients.get(key(token.issuer, token.clientId));
      if (clientSince !== undefined && !(token.issuedAt !== undefined && token.issuedAt >= clientSince)) {
        return `every token of this client issued before ${clientSince} is revoked`;
      }
    }
    return undefined;
  }
}
