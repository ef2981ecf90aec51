/**
 * What the peer authorizers share: each is the smallest Lambda REST REQUEST authorizer one would
 * write around that library (configuration from the environment at cold start, Bearer token from
 * the Authorization header, an Allow policy for the called method, `Unauthorized` otherwise).
 * They check signature, issuer, audience and expiry, but not scopes or routes as ours does.
 */
import type { APIGatewayAuthorizerResult } from 'aws-lambda';

export interface PeerSettings {
  issuer: string;
  jwksUri: string;
  audience: string;
}

export interface PeerEvent {
  methodArn: string;
  headers?: Record<string, string | undefined> | null;
}

export type PeerHandler = (event: PeerEvent) => Promise<APIGatewayAuthorizerResult>;

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is required`);
  return value;
}

export function peerSettings(): PeerSettings {
  return { issuer: required('AUTH_ISSUER'), jwksUri: required('AUTH_JWKS_URI'), audience: required('BENCH_AUDIENCE') };
}

export const ALGORITHMS = ['RS256', 'ES256'];

export function bearerToken(event: PeerEvent): string {
  const header = event.headers?.['Authorization'] ?? event.headers?.['authorization'];
  const match = header === undefined ? null : /^Bearer ([A-Za-z0-9\-_.]+)$/i.exec(header);
  if (match === null) throw new Error('Unauthorized');
  return match[1]!;
}

export function allowPolicy(principalId: string, methodArn: string): APIGatewayAuthorizerResult {
  return {
    principalId,
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: methodArn }] },
  };
}

/** Runs `verify` and turns any failure into the `Unauthorized` a REST authorizer throws. */
export async function authorizeWith(event: PeerEvent, verify: (token: string) => Promise<{ sub?: string }>): Promise<APIGatewayAuthorizerResult> {
  let sub: string | undefined;
  try {
    ({ sub } = await verify(bearerToken(event)));
  } catch {
    throw new Error('Unauthorized');
  }
  return allowPolicy(sub ?? 'unknown', event.methodArn);
}
