import type { APIGatewayAuthorizerResult } from 'aws-lambda';

/** Evaluates an authorizer policy for one execute-api ARN the way IAM does: explicit deny wins, then allow, else deny. */
export function policyAllows(result: APIGatewayAuthorizerResult, arn: string): boolean {
  const matches = (pattern: string): boolean => {
    const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    return regex.test(arn);
  };
  let allowed = false;
  for (const statement of result.policyDocument.Statement) {
    const resources = 'Resource' in statement ? [statement.Resource].flat() : [];
    if (!resources.some((resource) => matches(String(resource)))) continue;
    if (statement.Effect === 'Deny') return false;
    if (statement.Effect === 'Allow') allowed = true;
  }
  return allowed;
}

export const STAGE = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod';
export const arnFor = (method: string, path: string, stage: string = STAGE): string => `${stage}/${method}${path}`;
