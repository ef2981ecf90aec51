import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parseRouteTable } from '../../lib/authorizer/route-table.js';

const root = new URL('../..', import.meta.url).pathname;
const table = parseRouteTable(JSON.parse(readFileSync(new URL('../../routes.json', import.meta.url), 'utf8')));

interface FunctionConfig {
  handler: string;
  events?: { http?: { method: string; path: string; authorizer?: { name: string; type: string; resultTtlInSeconds: number } }; httpApi?: { method: string; path: string; authorizer?: { name: string } } }[];
}

describe('serverless.yml and routes.json cannot drift apart', () => {
  it('every API Gateway route is a route-table route behind the authorizer, and every table route is exposed on both APIs', async () => {
    // The resolved configuration, as the framework itself sees it (no AWS account needed).
    const { stdout } = await promisify(execFile)(process.execPath, [`${root}node_modules/serverless/bin/serverless.js`, 'print', '--format', 'json', '--param', 'authIssuer=https://issuer.test.example/'], {
      cwd: root, timeout: 60_000, env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
    });
    const config = JSON.parse(stdout) as { functions: Record<string, FunctionConfig>; custom: { esbuild: { alias: Record<string, string> } } };
    const functions = config.functions;
    // The authorizer is bundled with the very table the routes come from.
    assert.equal(config.custom.esbuild.alias['#route-table'], `${root}routes.json`);
    const rest = new Set<string>();
    const http = new Set<string>();
    for (const [name, fn] of Object.entries(functions)) {
      for (const event of fn.events ?? []) {
        if (event.http) {
          assert.equal(event.http.authorizer?.name, 'authorizer', `${name}: REST route ${event.http.path} has no authorizer`);
          assert.equal(event.http.authorizer?.type, 'request');
          // 30 s with revocation on (the default): a revoked token's cached allow ends that soon.
          assert.equal(event.http.authorizer?.resultTtlInSeconds, 30);
          rest.add(`${name} ${event.http.method.toUpperCase()} /${event.http.path.replace(/^\//, '')}`);
        }
        if (event.httpApi) {
          assert.equal(event.httpApi.authorizer?.name, 'bearer', `${name}: HTTP API route ${event.httpApi.path} has no authorizer`);
          http.add(`${name} ${event.httpApi.method.toUpperCase()} ${event.httpApi.path}`);
        }
      }
    }
    const expected = new Set(table.routes.filter((route) => route.api.function !== undefined).map((route) => `${route.api.function} ${route.method} ${route.path}`));
    assert.deepEqual(rest, expected);
    assert.deepEqual(http, expected);
  });
});
