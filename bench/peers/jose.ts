/** Peer: jose `jwtVerify` with `createRemoteJWKSet` (WebCrypto, fetch). */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { ALGORITHMS, authorizeWith, type PeerEvent, peerSettings } from './common.js';

const { issuer, jwksUri, audience } = peerSettings();
const keySet = createRemoteJWKSet(new URL(jwksUri));

export const handler = (event: PeerEvent) => authorizeWith(event, async (token) => {
  const { payload } = await jwtVerify(token, keySet, { issuer, audience, algorithms: ALGORITHMS });
  return payload;
});
