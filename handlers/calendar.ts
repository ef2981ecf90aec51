import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyResult, Context } from 'aws-lambda';
import { parseApiEvent } from '../lib/samples/api-event.js';
import { handleCalendarRequest } from '../lib/samples/calendar/api.js';
import { DynamoEventStore } from '../lib/samples/calendar/store.js';
import { createLogger, describeError, logLevelFromEnv, serviceNameFromEnv } from '../lib/shared/log.js';

const logger = createLogger({ service: serviceNameFromEnv(process.env, 'bearer-gate-calendar'), level: logLevelFromEnv(process.env) });

const tableName = process.env['CALENDAR_TABLE'];
if (tableName === undefined || tableName === '') {
  throw new Error('CALENDAR_TABLE: is required: set it to the DynamoDB table of calendar events (serverless.yml does)');
}
const store = new DynamoEventStore({ tableName, endpoint: process.env['DYNAMODB_ENDPOINT'] || undefined });

/** Lambda entry point for the calendar API (REST API and HTTP API proxy events). */
export async function handler(event: APIGatewayProxyEvent | APIGatewayProxyEventV2, context?: Context): Promise<APIGatewayProxyResult> {
  logger.startInvocation(context);
  return handleCalendarRequest(parseApiEvent(event), store, (reason, error) => {
    // The error's kind and message (SDK errors name the operation and the cause), never the request.
    logger.log(reason === 'store_unavailable' ? 'warn' : 'error', reason, { error: describeError(error) });
  });
}
