/**
 * Peer: aws-jwt-verify `JwtVerifier`. Its fetcher speaks https only (node:https), so the JWKS
 * either comes through `cacheJwks` (AUTH_JWKS_SNAPSHOT here; the warm benchmark calls it too) or,
 * to fetch from the loopback JWKS server like everyone else, through a minimal node:http
 * `Fetcher` handed to its own `SimpleJwksCache`. Everything after the bytes arrive is the library's.
 */
import http from 'node:http';
import { JwtVerifier } from 'aws-jwt-verify';
import type { Fetcher } from 'aws-jwt-verify/https';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import type { Jwks } from 'aws-jwt-verify/jwk';
import { authorizeWith, type PeerEvent, peerSettings } from './common.js';

const loopbackFetcher: Fetcher = {
  fetch: (uri) => new Promise((resolve, reject) => {
    http.get(uri, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const body = Buffer.concat(chunks);
        if (response.statusCode === 200) resolve(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer);
        else reject(new Error(`${uri} answered HTTP ${response.statusCode}`));
      });
      response.on('error', reject);
    }).on('error', reject);
  }),
};

const { issuer, jwksUri, audience } = peerSettings();
const verifier = JwtVerifier.create({ issuer, audience, jwksUri }, { jwksCache: new SimpleJwksCache({ fetcher: loopbackFetcher }) });

/** Hands the library a JWKS so it needs no fetch (`JwtVerifier.cacheJwks`). */
export function cacheJwks(jwks: unknown): void {
  verifier.cacheJwks(jwks as Jwks);
}

const snapshot = process.env['AUTH_JWKS_SNAPSHOT'];
if (snapshot !== undefined && snapshot !== '') cacheJwks(JSON.parse(snapshot));

export const handler = (event: PeerEvent) => authorizeWith(event, (token) => verifier.verify(token));
