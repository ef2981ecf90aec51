/**
 * What a DPoP proof is checked against, read from the API Gateway event: the one proof, the
 * request's method, and its URL as the client used it (RFC 9449 §4.3: `htm` and `htu`). Only read
 * for requests with the DPoP scheme.
 */
import { AuthError } from '../errors.js';
import { normalizeHtu } from '../dpop/htu.js';
import { LruCache } from '../shared/lru-cache.js';
import type { ExecuteApiArn } from './execute-api-arn.js';

export interface DpopRequest {
  proof: string;
  method: string;
  /** Normalised as `htu` is compared (scheme and host in lower case, no default port, no query). */
  url: string;
}

/** Where the public URL comes from when the event cannot tell (custom domains, base-path mappings). */
export interface DpopUrlSettings {
  /** `https://api.example.com`: replaces `https://` + the event's domain name. */
  publicOrigin: string | undefined;
  /** `/v1`: the path is this prefix + the route's path, instead of the event's own path. */
  basePath: string | undefined;
}

// Requests come for a handful of URLs: each is normalised (a URL parse) once.
const normalisedUrls = new LruCache<string, string | undefined>(128);
function normalizedUrl(url: string): string | undefined {
  const known = normalisedUrls.get(url);
  if (known !== undefined) return known;
  const value = normalizeHtu(url);
  if (value !== undefined) normalisedUrls.set(url, value);
  return value;
}

const invalid = (check: string): AuthError => new AuthError('dpop_proof_invalid', `DPoP proof: ${check}`);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** Every value under a case-insensitive "DPoP" key, single- and multi-value maps alike. */
function proofsIn(headers: unknown, into: unknown[]): void {
  if (!isObject(headers)) return;
  for (const key of Object.keys(headers)) {
    if (key.length !== 4 || key.toLowerCase() !== 'dpop') continue;
    const value = headers[key];
    into.push(...(Array.isArray(value) ? value : [value]));
  }
}

export function dpopRequestOf(event: Record<string, unknown>, arn: ExecuteApiArn, settings: DpopUrlSettings): DpopRequest {
  if (event['type'] === 'TOKEN') throw invalid('a TOKEN authorizer sees no DPoP header: attach a REQUEST authorizer to routes that take DPoP');
  const single: unknown[] = [];
  proofsIn(event['headers'], single);
  const multi: unknown[] = [];
  proofsIn(event['multiValueHeaders'], multi);
  // HTTP APIs join repeated headers with commas, which no compact JWS contains.
  const proof = single[0];
  if (single.length === 0) throw invalid('the request has no DPoP header');
  if (single.length > 1 || multi.length > 1 || (typeof proof === 'string' && proof.includes(','))) throw invalid('the request has more than one DPoP header (RFC 9449 §4.3 requires exactly one)');
  if (multi.length === 1 && multi[0] !== proof) throw invalid('the event\'s headers and multiValueHeaders disagree on DPoP');
  if (typeof proof !== 'string' || proof.trim() === '') throw invalid('the DPoP header is empty');

  const context = isObject(event['requestContext']) ? event['requestContext'] : {};
  const domainName = context['domainName'];
  const origin = settings.publicOrigin ?? (typeof domainName === 'string' && domainName !== '' ? `https://${domainName}` : undefined);
  if (origin === undefined) throw invalid('the event names no domain name to check "htu" against; set AUTH_DPOP_PUBLIC_ORIGIN');
  // REST: requestContext.path is the path as requested (with the stage on the execute-api domain,
  // with the base path on a custom domain); HTTP APIs: rawPath.
  const eventPath = event['version'] === '2.0' ? event['rawPath'] : context['path'];
  const path = settings.basePath !== undefined ? `${settings.basePath}${arn.path}` : eventPath;
  if (typeof path !== 'string' || !path.startsWith('/')) throw invalid('the event has no request path to check "htu" against; set AUTH_DPOP_BASE_PATH');
  const url = normalizedUrl(`${origin}${path}`);
  if (url === undefined) throw invalid(`the request URL ${origin}${path} is not an http(s) URL`);
  return { proof: proof.trim(), method: arn.method, url };
}
