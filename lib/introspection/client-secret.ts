/**
 * Where the introspecting client's secret comes from. Read once, at cold start, never logged.
 * The SDK clients are imported only when a source needs them: the Lambda runtime ships them, and
 * an authorizer without introspection never loads them.
 */
export type ClientSecretSource =
  | { readonly kind: 'value'; readonly value: string }
  | { readonly kind: 'ssm'; readonly name: string }
  | { readonly kind: 'secretsmanager'; readonly id: string };

/** A loader; swapped in tests. */
export type LoadClientSecret = (source: ClientSecretSource, timeoutMs: number) => Promise<string>;

/** Where the secret comes from, for logs: never the secret. */
export function describeSecretSource(source: ClientSecretSource): string {
  return source.kind === 'value' ? 'the environment' : source.kind === 'ssm' ? `SSM parameter ${source.name}` : `Secrets Manager secret ${source.id}`;
}

/**
 * A Secrets Manager secret holds either the secret itself or, as the console's key/value form
 * writes it, a JSON object: then its "client_secret" member.
 */
function fromSecretString(id: string, value: string): string {
  if (!value.trimStart().startsWith('{')) return value;
  let document: unknown;
  try {
    document = JSON.parse(value);
  } catch {
    return value;
  }
  const secret = (document as Record<string, unknown>)['client_secret'];
  if (typeof secret !== 'string' || secret === '') throw new Error(`Secrets Manager secret ${id} is a JSON object without a "client_secret" string`);
  return secret;
}

export const loadClientSecret: LoadClientSecret = async (source, timeoutMs) => {
  if (source.kind === 'value') return source.value;
  // The deadline covers the call, not the import and client set-up before it (~0.5 s on a cold
  // start), which no server can shorten. Two attempts at most: the SDK's retries must not outlast
  // the authorizer's timeout.
  if (source.kind === 'ssm') {
    const { SSMClient, GetParameterCommand } = await import('@aws-sdk/client-ssm');
    const client = new SSMClient({ maxAttempts: 2 });
    const answer = await client.send(new GetParameterCommand({ Name: source.name, WithDecryption: true }), { abortSignal: AbortSignal.timeout(timeoutMs) });
    const value = answer.Parameter?.Value;
    if (value === undefined || value === '') throw new Error(`SSM parameter ${source.name} has no value`);
    return value;
  }
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const client = new SecretsManagerClient({ maxAttempts: 2 });
  const answer = await client.send(new GetSecretValueCommand({ SecretId: source.id }), { abortSignal: AbortSignal.timeout(timeoutMs) });
  if (answer.SecretString === undefined || answer.SecretString === '') throw new Error(`Secrets Manager secret ${source.id} has no SecretString (a binary secret cannot be a client secret)`);
  return fromSecretString(source.id, answer.SecretString);
};
