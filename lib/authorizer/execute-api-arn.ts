import { AuthError } from '../errors.js';

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
// The stage is held to what API Gateway allows in a stage name (letters, digits, "-", "_", or an
// HTTP API's "$default"): it becomes part of every resource in the policy, where "*" or "?" would
// be IAM wildcards and open the token's routes in every stage.
const ARN = /^(arn:aws[a-z-]*:execute-api:[a-z0-9-]+:[A-Za-z0-9-]+:[A-Za-z0-9-]+\/(?:\$default|[A-Za-z0-9_-]{1,128}))\/([A-Z]+)(\/.*)?$/;

export function parseExecuteApiArn(arn: string): ExecuteApiArn {
  const match = ARN.exec(arn);
  if (match === null) throw new AuthError('event_invalid', 'the event has no valid execute-api ARN');
  return { stagePrefix: match[1]!, method: match[2]!, path: match[3] ?? '/' };
}

/** A route template as an IAM resource pattern after the stage: each {parameter} becomes a wildcard. */
export function resourcePattern(method: string, pathTemplate: string): string {
  return `${method}${pathTemplate.replace(/\{[^}]+\}/g, '*')}`;
}

/** The IAM resource for a route template in one stage. */
export function routeResource(stagePrefix: string, method: string, pathTemplate: string): string {
  return `${stagePrefix}/${resourcePattern(method, pathTemplate)}`;
}
