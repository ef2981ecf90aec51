/**
 * One revocation, as it is stored and as it is matched. Keyed on claims, never on the token's
 * bytes (a token has other valid spellings): one token by (`iss`, `jti`); everything a subject or
 * a client holds by (`iss`, `sub` or client id) issued before a time.
 */
export type RevocationKind = 'token' | 'subject' | 'client';
export const REVOCATION_KINDS: readonly RevocationKind[] = ['token', 'subject', 'client'];

export interface Revocation {
  kind: RevocationKind;
  issuer: string;
  /** The `jti`, the `sub` or the client id. */
  value: string;
  /** Subject and client: tokens issued (`iat`) before this time, in seconds, are refused. */
  notBefore: number | undefined;
  /** When no token the entry could match is valid any more, in seconds: the item's TTL. */
  expiresAt: number;
}

/** The one partition every entry lives in: the refresh is a single Query on it. */
export const PARTITION = 'revocations';

/**
 * The sort key: when the entry was written (ms, fixed width so that text order is time order),
 * then a random part so that two writes in one millisecond never collide.
 */
export function sortKeyOf(writtenAtMs: number, random: string): string {
  return `${String(Math.floor(writtenAtMs)).padStart(15, '0')}#${random}`;
}

/** The sort key below which nothing written at or after `ms` can sort. */
export function sortKeyFloor(ms: number): string {
  return `${String(Math.max(0, Math.floor(ms))).padStart(15, '0')}#`;
}

type Item = Record<string, { S?: string; N?: string } | undefined>;

/** A stored item as a revocation, or undefined when it is not one (written by something else, or damaged). */
export function revocationOfItem(item: Item): Revocation | undefined {
  const kind = item['kind']?.S;
  const issuer = item['iss']?.S;
  const value = item['value']?.S;
  const expiresAt = Number(item['expiresAt']?.N);
  const notBefore = item['notBefore']?.N === undefined ? undefined : Number(item['notBefore'].N);
  if (!REVOCATION_KINDS.includes(kind as RevocationKind) || !issuer || !value || !Number.isFinite(expiresAt)) return undefined;
  if (kind !== 'token' && (notBefore === undefined || !Number.isFinite(notBefore))) return undefined;
  return { kind: kind as RevocationKind, issuer, value, notBefore, expiresAt };
}

export function itemOf(revocation: Revocation, sortKey: string): Record<string, { S: string } | { N: string }> {
  const item: Record<string, { S: string } | { N: string }> = {
    pk: { S: PARTITION }, sk: { S: sortKey }, kind: { S: revocation.kind }, iss: { S: revocation.issuer },
    value: { S: revocation.value }, expiresAt: { N: String(Math.ceil(revocation.expiresAt)) },
  };
  if (revocation.notBefore !== undefined) item['notBefore'] = { N: String(Math.floor(revocation.notBefore)) };
  return item;
}
