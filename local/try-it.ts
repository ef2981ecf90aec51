/**
 * The commands `npm start` prints to try the stack with, for the ports it actually runs on: run as
 * printed (in bash, in another terminal), they work. The end-to-end suite runs them.
 */
import { LOCAL_PASSWORD } from './clients.js';

/** The issuer port `npm run token` assumes without LOCAL_ISSUER_PORT or --issuer. */
export const DEFAULT_ISSUER_PORT = 4000;

export interface TryItTargets {
  /** Where the issuer listens (`http://127.0.0.1:<port>/`). */
  issuerUrl: string;
  /** The REST API's base URL, stage included. */
  restBaseUrl: string;
  /** The HTTP API's base URL. */
  apiUrl: string;
  stage: string;
}

export function tryItCommands({ issuerUrl, restBaseUrl, apiUrl, stage }: TryItTargets): string {
  const issuerPort = Number(new URL(issuerUrl).port || 80);
  const lines = [
    ...(issuerPort === DEFAULT_ISSUER_PORT ? [] : [
      `# the issuer is on port ${issuerPort}, not ${DEFAULT_ISSUER_PORT}: tell npm run token (once per terminal)`,
      `export LOCAL_ISSUER_PORT=${issuerPort}`,
      '',
    ]),
    '# geocoding, server to server (client-credentials grant)',
    'TOKEN=$(npm run --silent token -- --client geocoding)',
    `curl -s "${restBaseUrl}/geocoding/v1/reverse?lat=48.8566&lng=2.3522" -H "Authorization: Bearer $TOKEN"`,
    '',
    '# calendar, as user alice (authorization code + PKCE: the script signs in and consents)',
    'TOKEN=$(npm run --silent token -- --user alice --scope "read write")',
    `curl -s -X POST "${restBaseUrl}/calendar/v1/events" -H "Authorization: Bearer $TOKEN" \\`,
    `     -H 'content-type: application/json' -d '{"title":"Standup","start":"2026-12-01T09:00:00Z","end":"2026-12-01T09:15:00Z"}'`,
    `curl -s "${restBaseUrl}/calendar/v1/events" -H "Authorization: Bearer $TOKEN"`,
    '',
    `# the same routes on the HTTP API: drop the /${stage} prefix`,
    `curl -s "${apiUrl}/calendar/v1/events" -H "Authorization: Bearer $TOKEN"`,
    '',
    `# or sign in yourself in a browser (any lower-case name, password ${LOCAL_PASSWORD}): the script`,
    '# prints the URL to open, catches the redirect on a loopback port and exchanges the code itself',
    'TOKEN=$(npm run --silent token -- --browser --scope "read write")',
  ];
  return lines.map((line) => (line === '' ? '' : `  ${line}`)).join('\n');
}
