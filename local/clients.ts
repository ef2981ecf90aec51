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
} as const;

/** Local accounts: any lower-case user name, with this one password. Never use this issuer for real users. */
export const LOCAL_PASSWORD = 'local-password';

export const TOKEN_LIFETIME_SECONDS = 86400;
