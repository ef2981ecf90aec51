/**
 * What every part of the benchmark shares: keys, a pool of distinct valid tokens per algorithm,
 * the REST REQUEST event API Gateway would send for them, and tampered tokens to prove that a
 * contender really verifies.
 */
import { randomUUID } from 'node:crypto';
import { arnFor } from '../test/helpers/policy.js';
import { b64url, CALENDAR_AUDIENCE, generateTestKey, signJwt, type TestKey, userClaims } from '../test/helpers/jwt.js';

export const ALGORITHMS = ['RS256', 'ES256'] as const;
export type BenchAlgorithm = (typeof ALGORITHMS)[number];

export const AUDIENCE = CALENDAR_AUDIENCE;
/** GET /calendar/v1/events: needs the `read` scope and a user token, which the pool tokens have. */
export const METHOD_ARN = arnFor('GET', '/calendar/v1/events');

export interface RequestEvent {
  type: 'REQUEST';
  methodArn: string;
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
}

export function requestEvent(token: string): RequestEvent {
  const authorization = `Bearer ${token}`;
  return { type: 'REQUEST', methodArn: METHOD_ARN, headers: { Authorization: authorization }, multiValueHeaders: { Authorization: [authorization] } };
}

export function makeKeys(): Record<BenchAlgorithm, TestKey> {
  return { RS256: generateTestKey('RS256', 'bench-rs256'), ES256: generateTestKey('ES256', 'bench-es256') };
}

/** `count` valid tokens, each with its own `sub` and `jti`, valid for two hours. */
export function tokenPool(key: TestKey, issuer: string, count: number): string[] {
  const now = Math.floor(Date.now() / 1000);
  return Array.from({ length: count }, (_, index) => signJwt(key, userClaims(issuer, {
    sub: `usr_${index}`, jti: randomUUID(), iat: now, exp: now + 7200,
  })));
}

/** The same token with another `sub` in its payload and the original signature. */
export function tamper(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  return `${header}.${b64url({ ...claims, sub: `${String(claims['sub'])}-forged` })}.${signature}`;
}
