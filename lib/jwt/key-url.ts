const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** https everywhere; plain http only to this machine, for the local stack and tests. */
export function isAllowedKeyUrl(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  // An address literal, not a name: `127.evil.example` is somebody else's host.
  return url.protocol === 'http:' && (LOOPBACK_HOSTS.has(url.hostname) || /^127(\.\d{1,3}){3}$/.test(url.hostname));
}
