import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { parseRouteTable } from '../../lib/authorizer/route-table.js';

const root = new URL('../..', import.meta.url).pathname;
const table = parseRouteTable(JSON.parse(readFileSync(new URL('../../routes.json', import.meta.url), 'utf8')));

interface FunctionConfig {
  handler: string;
  events?: { http?: { method: string; path: string; authorizer?: { name: string; type: string; resultTtlInSeconds: number; arn?: unknown; identitySource?: string } }; httpApi?: { method: string; path: string; authorizer?: { name: string } } }[];
}

const print = async (...args: string[]) => JSON.parse((await promisify(execFile)(process.execPath, [`${root}node_modules/serverless/bin/serverless.js`, 'print', '--format', 'json', '--param', 'authIssuer=https://issuer.test.example/', ...args], {
  cwd: root, timeout: 60_000, env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
})).stdout) as { functions: Record<string, FunctionConfig>; custom: { esbuild: { alias: Record<string, string> } }; provider: { httpApi: { authorizers: Record<string, { functionName: string; resultTtlInSeconds: number; identitySource: string }> } } };

describe('serverless.yml and routes.json cannot drift apart', () => {
  it('every API Gateway route is a route-table route behind the authorizer, and every table route is exposed on both APIs', async () => {
    // The resolved configuration, as the framework itself sees it (no AWS account needed).
    const config = await print();
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
    // No API of routes.json requires DPoP: no uncached authorizer.
    assert.deepEqual(Object.keys(config.provider.httpApi.authorizers), ['bearer']);
  });

  it('stage dpop: the routes of routes.dpop.json, those of an API with requireDpop behind the uncached authorizer of the same function, on both APIs', async () => {
    const dpopTable = parseRouteTable(JSON.parse(readFileSync(new URL('../../routes.dpop.json', import.meta.url), 'utf8')));
    const config = await print('--stage', 'dpop');
    assert.equal(config.custom.esbuild.alias['#route-table'], `${root}routes.dpop.json`);
    const { bearer, dpop } = config.provider.httpApi.authorizers;
    assert.equal(bearer?.resultTtlInSeconds, 30);
    assert.equal(dpop?.resultTtlInSeconds, 0);
    assert.equal(dpop?.functionName, 'authorizer');
    const seen: string[] = [];
    for (const [name, fn] of Object.entries(config.functions)) {
      for (const event of fn.events ?? []) {
        const path = event.http ? `/${event.http.path}` : event.httpApi!.path;
        const route = dpopTable.routes.find((candidate) => candidate.path === path && candidate.method === (event.http?.method ?? event.httpApi!.method).toUpperCase())!;
        assert.ok(route !== undefined, `${name} ${path}`);
        if (event.http) {
          const authorizer = event.http.authorizer!;
          assert.equal(authorizer.resultTtlInSeconds, route.api.requireDpop ? 0 : 30, path);
          assert.equal(authorizer.name, route.api.requireDpop ? 'dpopAuthorizer' : 'authorizer', path);
          assert.deepEqual(authorizer.arn, route.api.requireDpop ? { 'Fn::GetAtt': ['AuthorizerLambdaFunction', 'Arn'] } : undefined, path);
          seen.push(`REST ${route.method} ${route.path}`);
        } else {
          assert.equal(event.httpApi!.authorizer?.name, route.api.requireDpop ? 'dpop' : 'bearer', path);
          seen.push(`HTTP ${route.method} ${route.path}`);
        }
      }
    }
    assert.equal(seen.length, dpopTable.routes.length * 2);
    assert.ok(dpopTable.routes.some((route) => route.api.requireDpop) && dpopTable.routes.some((route) => !route.api.requireDpop), 'both kinds of API');
  });

  it('under serverless offline (which runs only authorizers named by function, and caches none) the DPoP routes name the authorizer function, with TTL 0', async () => {
    // serverless.parts.cjs as the framework calls it, with `offline` on the command line.
    const parts = createRequire(import.meta.url)('../../serverless.parts.cjs') as (options: { resolveVariable: (name: string) => Promise<unknown> }) => Promise<{ events: Record<string, FunctionConfig['events']> }>;
    const values: Record<string, string> = { 'param:routeTable': 'routes.dpop.json', 'sls:stage': 'dpop', 'param:revocation': 'on', 'self:service': 'bearer-gate' };
    const resolveVariable = async (name: string) => values[name] ?? '';
    const eventsOf = async () => (await parts({ resolveVariable })).events;
    const calendarRest = (events: Record<string, FunctionConfig['events']>) => events['calendar']!.filter((event) => event.http).map((event) => event.http!.authorizer);
    assert.ok(calendarRest(await eventsOf()).every((authorizer) => authorizer?.name === 'dpopAuthorizer' && authorizer.resultTtlInSeconds === 0));
    process.argv.push('offline');
    try {
      const events = await eventsOf();
      assert.ok(calendarRest(events).every((authorizer) => authorizer?.name === 'authorizer' && authorizer.resultTtlInSeconds === 0 && authorizer.arn === undefined));
      assert.ok(events['geocoding']!.filter((event) => event.http).every((event) => event.http!.authorizer?.resultTtlInSeconds === 30));
    } finally {
      process.argv.pop();
    }
    // No replay table name (only a params block can give ''): the DPoP settings refuse, with the fix.
    const resolved = await parts({ resolveVariable }) as unknown as { dpop: unknown };
    assert.throws(() => resolved.dpop, /params\.dpop\.dpopReplayTable is empty: the DPoP replay table needs a name/);
  });
});
