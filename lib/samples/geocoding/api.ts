import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyResult } from 'aws-lambda';
import { parseApiEvent, type ApiRequest } from '../api-event.js';
import type { Gazetteer } from './gazetteer.js';
import { errorResponse, jsonResponse, type ErrorBody } from '../http-response.js';

/**
 * GET /geocoding/v1/reverse?lat=48.8566&lng=2.3522: the populated place nearest to a point.
 *
 * `lat` and `lng` are plain decimal numbers: an optional '-', digits, optionally '.' and digits
 * ('48.8566', '-0.5', '2'). No '+' (a query string may turn it into a space), no exponent, no
 * hexadecimal, no 'NaN' or 'Infinity', no whitespace, no leading or trailing '.', at most
 * MAX_NUMBER_LENGTH characters. Each is given once: a repeated parameter, which HTTP APIs pass on
 * as comma-joined values, is refused rather than one value picked. Any other parameter is refused.
 * Every problem is reported at once, in `details`, one entry per field.
 */

export const MAX_NUMBER_LENGTH = 32;
const DECIMAL = /^-?\d+(?:\.\d+)?$/;
const PARAMETERS = { lat: 90, lng: 180 } as const;
type Parameter = keyof typeof PARAMETERS;
const MAX_REPORTED_NAME_LENGTH = 64;
const MAX_REPORTED_UNKNOWN = 10;

type Details = NonNullable<ErrorBody['details']>;

function parseCoordinate(field: Parameter, value: string | undefined, details: Details): number | undefined {
  const limit = PARAMETERS[field];
  if (value === undefined) {
    details.push({ field, problem: 'is required' });
    return undefined;
  }
  if (value.includes(',')) {
    details.push({ field, problem: 'must be given once, as a single decimal number' });
    return undefined;
  }
  if (value.length > MAX_NUMBER_LENGTH || !DECIMAL.test(value)) {
    details.push({ field, problem: `must be a decimal number such as ${field === 'lat' ? '48.8566' : '-2.3522'}` });
    return undefined;
  }
  const number = Number(value);
  if (!(Math.abs(number) <= limit)) {
    details.push({ field, problem: `must be between -${limit} and ${limit}` });
    return undefined;
  }
  return number;
}

/** The reverse geocoding API on one request. */
export function reverseGeocode(request: ApiRequest, gazetteer: Gazetteer): APIGatewayProxyResult {
  if (request.method !== 'GET') {
    return jsonResponse(405, { error: 'method_not_allowed', message: `${request.method} is not allowed here: use GET.` } satisfies ErrorBody, { allow: 'GET' });
  }
  const details: Details = [];
  const unknown = Object.keys(request.query).filter((name) => !Object.hasOwn(PARAMETERS, name)).sort();
  for (const name of unknown.slice(0, MAX_REPORTED_UNKNOWN)) {
    details.push({ field: name.slice(0, MAX_REPORTED_NAME_LENGTH), problem: 'is not a parameter of this API (only lat and lng are)' });
  }
  const lat = parseCoordinate('lat', request.query['lat'], details);
  const lng = parseCoordinate('lng', request.query['lng'], details);
  if (lat === undefined || lng === undefined || details.length > 0) {
    return errorResponse(400, 'invalid_request', 'The query is not valid: see details.', details);
  }
  return jsonResponse(200, { query: { lat, lng }, place: gazetteer.nearest(lat, lng) });
}

/**
 * A REST API (payload 1.0) or HTTP API (payload 2.0) proxy event to the API. A REST API keeps only the
 * last value of a repeated parameter in `queryStringParameters`; its values are joined with commas
 * here, as an HTTP API does, so that both refuse a repeated parameter alike.
 */
export function handleGeocodingEvent(event: APIGatewayProxyEvent | APIGatewayProxyEventV2, gazetteer: Gazetteer): APIGatewayProxyResult {
  const request = parseApiEvent(event);
  if ('multiValueQueryStringParameters' in event && event.multiValueQueryStringParameters) {
    const query = { ...request.query };
    for (const [name, values] of Object.entries(event.multiValueQueryStringParameters)) {
      if (values !== undefined && values.length > 1) query[name] = values.join(',');
    }
    return reverseGeocode({ ...request, query }, gazetteer);
  }
  return reverseGeocode(request, gazetteer);
}
