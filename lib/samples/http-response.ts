import type { APIGatewayProxyResult } from 'aws-lambda';

/**
 * The sample APIs answer JSON only. Errors have one stable shape, `{ "error": code, "message": text }`,
 * where `code` is for programs and `message` for people; never a stack or an internal detail.
 */
export interface ErrorBody {
  error: string;
  message: string;
  /** Per-field problems of a rejected request body or query. */
  details?: { field: string; problem: string }[];
}

export function jsonResponse(statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

export function errorResponse(statusCode: number, error: string, message: string, details?: ErrorBody['details']): APIGatewayProxyResult {
  const body: ErrorBody = { error, message };
  if (details !== undefined && details.length > 0) body.details = details;
  return jsonResponse(statusCode, body);
}
