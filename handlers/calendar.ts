import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyResult } from 'aws-lambda';
import { parseApiEvent } from '../lib/api-event.js';
import { handleCalendarRequest } from '../lib/calendar-api.js';
import { DynamoEventStore } from '../lib/calendar-store.js';

const tableName = process.env['CALENDAR_TABLE'];
if (tableName === undefined || tableName === '') {
  throw new Error('CALENDAR_TABLE: is required: set it to the DynamoDB table of calendar events (serverless.yml does)');
}
const store = new DynamoEventStore({ tableName, endpoint: process.env['DYNAMODB_ENDPOINT'] || undefined });

/** Lambda entry point for the calendar API (REST API and HTTP API proxy events). */
export async function handler(event: APIGatewayProxyEvent | APIGatewayProxyEventV2): Promise<APIGatewayProxyResult> {
  return handleCalendarRequest(parseApiEvent(event), store);
}
