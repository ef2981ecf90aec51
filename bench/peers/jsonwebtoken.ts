/**
 * Peer: jsonwebtoken + jwks-rsa, as in Auth0's Lambda authorizer sample: decode the header,
 * `getSigningKey(kid)` from a caching, rate-limited jwksClient, then `jwt.verify` with the PEM.
 */
import jwt from 'jsonwebtoken';
import jwksClient from 'jwks-rsa';
import { authorizeWith, type PeerEvent, peerSettings } from './common.js';

const { issuer, jwksUri, audience } = peerSettings();
const client = jwksClient({ jwksUri, cache: true, rateLimit: true, jwksRequestsPerMinute: 10 });

export const handler = (event: PeerEvent) => authorizeWith(event, async (token) => {
  const decoded = jwt.decode(token, { complete: true });
  if (decoded === null || typeof decoded.payload === 'string') throw new Error('invalid token');
  const key = await client.getSigningKey(decoded.header.kid);
  const payload = jwt.verify(token, key.getPublicKey(), { issuer, audience, algorithms: ['RS256', 'ES256'] });
  if (typeof payload === 'string') throw new Error('invalid token');
  return payload;
});
