/**
 * RFC 9449 §4.3 (check 9): `htu` matches the request's URI without its query and fragment, after
 * RFC 3986 §6.2.2 and §6.2.3 normalisation: scheme and host in lower case, the scheme's default
 * port dropped, percent-encoding normalised and dot segments removed. WHATWG URL parsing does all
 * of that for http(s) URLs.
 */
export function normalizeHtu(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  // Userinfo has no place in a request URI a client signs.
  if (url.username !== '' || url.password !== '') return undefined;
  return `${url.protocol}//${url.host}${normalizePercentEncoding(url.pathname)}`;
}

/** Percent-encoded octets in upper case, and unreserved characters decoded (RFC 3986 §6.2.2.1–2). */
function normalizePercentEncoding(path: string): string {
  if (!path.includes('%')) return path;
  return path.replace(/%([0-9A-Fa-f]{2})/g, (_match, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}
