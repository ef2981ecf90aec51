/**
 * What the local issuer and its clients agree on: the two APIs, the clients, the local password.
 * A module of its own so that the token script and the tests' clients never load oidc-provider.
 */
export const CALENDAR_API = 'https://api.example.com/calendar/v1/';
export const GEOCODING_API = 'https://api.example.com/geocoding/v1/';

export const CLIENTS = {
  calendar: { id: 'calendar-app', redirectUri: 'http://127.0.0.1/callback' },
  geocoding: { id: 'geocoding-backend', secret: 'geocoding-backend-local-secret' },
  nogrant: { id: 'no-grant-client', secret: 'no-grant-client-local-secret' },
  // The same two apps, given opaque access tokens (RFC 7662: the authorizer introspects them).
  calendarOpaque: { id: 'calendar-app-opaque', redirectUri: 'http://127.0.0.1/callback' },
  geocodingOpaque: { id: 'geocoding-backend-opaque', secret: 'geocoding-backend-opaque-local-secret' },
  // The authorizer itself, as the client it authenticates as at the introspection endpoint. It may
  // introspect any token of this issuer, and gets no token of its own.
  authorizer: { id: 'bearer-gate-authorizer', secret: 'bearer-gate-authorizer-local-secret' },
} as const;

/** The clients whose access tokens are opaque (the others get RFC 9068 JWTs). */
export const OPAQUE_CLIENT_IDS: ReadonlySet<string> = new Set([CLIENTS.calendarOpaque.id, CLIENTS.geocodingOpaque.id]);

/** Local accounts: any lower-case user name, with this one password. Never use this issuer for real users. */
export const LOCAL_PASSWORD = 'local-password';

export const TOKEN_LIFETIME_SECONDS = 86400;
