import { AuthError } from './errors.js';

/** An API Gateway `methodArn` (REST) or `routeArn` (HTTP API), split into its parts. */
export interface ExecuteApiArn {
  /** `arn:aws:execute-api:region:account:apiId/stage`, the prefix every resource in a policy shares. */
  stagePrefix: string;
  method: string;
  /** The concrete request path, starting with "/". */
  path: string;
}

// arn:{partition}:execute-api:{region}:{account}:{apiId}/{stage}/{method}/{path...}
// serverless offline puts placeholders such as "random-account-id" in the account field.
const ARN = /^(arn:aws[a-z-]*:execute-api:[a-z0-9-]+:[A-Za-z0-9-]+:[A-Za-z0-9-]+\/[^/]+)\/([A-Z]+)(\/.*)?$/;

export function parseExecuteApiArn(arn: string): ExecuteApiArn {
  const match = ARN.exec(arn);
  if (match === null) throw new AuthError('event_invalid', 'the event has no valid execute-api ARN');
  return { stagePrefix: match[1]!, method: match[2]!, path: match[3] ?? '/' };
}

/** The IAM resource for a route template: each {parameter} becomes a wildcard. */
export function routeResource(stagePrefix: string, method: string, pathTemplate: string): string {
  return `${stagePrefix}/${method}${pathTemplate.replace(/\{[^}]+\}/g, '*')}`;
}
