const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** https everywhere; plain http only to this machine, for the local stack and tests. */
export function isAllowedKeyUrl(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  // An address literal, not a name: `127.evil.example` is somebody else's host.
  return url.protocol === 'http:' && (LOOPBACK_HOSTS.has(url.hostname) || /^127(\.\d{1,3}){3}$/.test(url.hostname));
}

/**
 * A JWKS URL that a discovery document names. The loopback-http exception is for URLs the operator
 * configured (the local stack); a document fetched over the network must not point the fetch at
 * this machine's plain-http services (Lambda's Runtime API listens on 127.0.0.1:9001). Only an
 * issuer that is itself a loopback http URL may name one.
 */
export function isAllowedDiscoveredKeyUrl(url: URL, issuer: string): boolean {
  if (url.protocol === 'https:') return true;
  let issuerUrl: URL;
  try {
    issuerUrl = new URL(issuer);
  } catch {
    return false;
  }
  return issuerUrl.protocol === 'http:' && isAllowedKeyUrl(issuerUrl) && isAllowedKeyUrl(url);
}
