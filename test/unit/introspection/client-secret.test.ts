import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { describeSecretSource, loadClientSecret } from '../../../lib/introspection/client-secret.js';

interface Call {
  target: string;
  body: Record<string, unknown>;
}

type Answer = (call: Call, response: http.ServerResponse) => void;

/** A fake AWS service speaking the JSON protocol (POST, X-Amz-Target) on 127.0.0.1. */
class FakeAwsService {
  readonly calls: Call[] = [];
  answer: Answer = (_call, response) => respond(response, 400, { __type: 'UnknownOperationException' });
  private readonly server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const call = { target: String(request.headers['x-amz-target'] ?? ''), body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown> };
      this.calls.push(call);
      if (request.method !== 'POST') {
        respond(response, 405, { __type: 'MethodNotAllowed' });
        return;
      }
      this.answer(call, response);
    });
  });
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  reset(): void {
    this.calls.length = 0;
    this.server.closeAllConnections();
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function respond(response: http.ServerResponse, status: number, body: unknown): void {
  response.statusCode = status;
  response.setHeader('content-type', 'application/x-amz-json-1.1');
  const type = (body as { __type?: string }).__type;
  if (status >= 400 && type !== undefined) response.setHeader('x-amzn-errortype', type);
  response.end(JSON.stringify(body));
}

const ssm = new FakeAwsService();
const secretsManager = new FakeAwsService();
// The production default (AUTH_INTROSPECTION_TIMEOUT_MS). The deadline starts before the SDK's
// dynamic import, so the modules are loaded once in before(): a cold import under tsx on a slow
// machine would otherwise spend the deadline before any request (see the report of this file).
const TIMEOUT_MS = 1500;
// A shorter deadline for the servers that never answer.
const HANG_TIMEOUT_MS = 500;
const BOUND_MS = 5 * TIMEOUT_MS;
const ENV = ['AWS_ENDPOINT_URL_SSM', 'AWS_ENDPOINT_URL_SECRETS_MANAGER', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_EC2_METADATA_DISABLED'] as const;
const saved = new Map<string, string | undefined>(ENV.map((name) => [name, process.env[name]]));

before(async () => {
  await Promise.all([import('@aws-sdk/client-ssm'), import('@aws-sdk/client-secrets-manager')]);
  await ssm.start();
  await secretsManager.start();
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SSM: ssm.url, AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url, AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', AWS_EC2_METADATA_DISABLED: 'true',
  });
  delete process.env['AWS_SESSION_TOKEN'];
  delete process.env['AWS_PROFILE'];
});

after(async () => {
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await ssm.stop();
  await secretsManager.stop();
});

beforeEach(() => {
  ssm.reset();
  secretsManager.reset();
});

/** Fails the test if the promise has not settled within `ms`; bounds a wait, never synchronises. */
async function within<T>(promise: Promise<T>, ms = BOUND_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const PARAMETER = '/bearer-gate/prod/introspection-client-secret';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:bearer-gate/introspection-AbCdEf';
const CLIENT_SECRET = 'kP9s-2Qw+x/7zL=';

describe('loadClientSecret: the environment', () => {
  it('a value is the secret itself, with no call', async () => {
    assert.equal(await loadClientSecret({ kind: 'value', value: CLIENT_SECRET }, TIMEOUT_MS), CLIENT_SECRET);
    assert.equal(ssm.calls.length + secretsManager.calls.length, 0);
  });

  it('describes each source without the secret', () => {
    assert.equal(describeSecretSource({ kind: 'value', value: CLIENT_SECRET }), 'the environment');
    assert.equal(describeSecretSource({ kind: 'ssm', name: PARAMETER }), `SSM parameter ${PARAMETER}`);
    assert.equal(describeSecretSource({ kind: 'secretsmanager', id: SECRET_ARN }), `Secrets Manager secret ${SECRET_ARN}`);
  });
});

describe('loadClientSecret: SSM Parameter Store', () => {
  it('reads the parameter, asking for it decrypted (a SecureString)', async () => {
    ssm.answer = (call, response) => respond(response, 200, {
      Parameter: { Name: call.body['Name'], Type: 'SecureString', Value: CLIENT_SECRET, Version: 3, ARN: `arn:aws:ssm:eu-west-1:123456789012:parameter${PARAMETER}`, DataType: 'text' },
    });
    assert.equal(await within(loadClientSecret({ kind: 'ssm', name: PARAMETER }, TIMEOUT_MS)), CLIENT_SECRET);
    assert.equal(ssm.calls.length, 1);
    assert.equal(ssm.calls[0]!.target, 'AmazonSSM.GetParameter');
    assert.deepEqual(ssm.calls[0]!.body, { Name: PARAMETER, WithDecryption: true });
  });

  it('an empty value is an error naming the parameter', async () => {
    ssm.answer = (_call, response) => respond(response, 200, { Parameter: { Name: PARAMETER, Type: 'SecureString', Value: '' } });
    await assert.rejects(within(loadClientSecret({ kind: 'ssm', name: PARAMETER }, TIMEOUT_MS)), new RegExp(`SSM parameter ${PARAMETER} has no value`));
  });

  it('an answer without a Parameter is an error', async () => {
    ssm.answer = (_call, response) => respond(response, 200, {});
    await assert.rejects(within(loadClientSecret({ kind: 'ssm', name: PARAMETER }, TIMEOUT_MS)), /has no value/);
  });

  it('400 ParameterNotFound rejects', async () => {
    ssm.answer = (_call, response) => respond(response, 400, { __type: 'ParameterNotFound', message: 'Parameter not found.' });
    await assert.rejects(within(loadClientSecret({ kind: 'ssm', name: PARAMETER }, TIMEOUT_MS)), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.equal(error.name, 'ParameterNotFound');
      return true;
    });
    assert.equal(ssm.calls.length, 1, 'not retried: the parameter will not appear by asking again');
  });

  it('a server that never answers: rejects within the deadline', async () => {
    ssm.answer = () => undefined;
    await assert.rejects(within(loadClientSecret({ kind: 'ssm', name: PARAMETER }, HANG_TIMEOUT_MS), 5 * HANG_TIMEOUT_MS), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.doesNotMatch(error.message, /did not settle/);
      return true;
    });
  });
});

describe('loadClientSecret: Secrets Manager', () => {
  const answering = (secret: Record<string, unknown>): Answer => (call, response) => respond(response, 200, {
    ARN: SECRET_ARN, Name: 'bearer-gate/introspection', VersionId: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111', VersionStages: ['AWSCURRENT'], CreatedDate: 1_700_000_000, ...secret,
    ...(call.target === 'secretsmanager.GetSecretValue' ? {} : { unexpected: call.target }),
  });

  it('a plain SecretString is the secret', async () => {
    secretsManager.answer = answering({ SecretString: CLIENT_SECRET });
    assert.equal(await within(loadClientSecret({ kind: 'secretsmanager', id: SECRET_ARN }, TIMEOUT_MS)), CLIENT_SECRET);
    assert.equal(secretsManager.calls.length, 1);
    assert.equal(secretsManager.calls[0]!.target, 'secretsmanager.GetSecretValue');
    assert.deepEqual(secretsManager.calls[0]!.body, { SecretId: SECRET_ARN });
  });

  it('a JSON object (the console\'s key/value form): its client_secret', async () => {
    secretsManager.answer = answering({ SecretString: JSON.stringify({ client_id: 'calendar-gate', client_secret: CLIENT_SECRET }) });
    assert.equal(await within(loadClientSecret({ kind: 'secretsmanager', id: SECRET_ARN }, TIMEOUT_MS)), CLIENT_SECRET);
  });

  it('a JSON object without a client_secret string is an error naming the secret, never its content', async () => {
    for (const document of [{ clientSecret: CLIENT_SECRET }, { client_secret: '' }, { client_secret: 42 }]) {
      secretsManager.answer = answering({ SecretString: JSON.stringify(document) });
      await assert.rejects(within(loadClientSecret({ kind: 'secretsmanager', id: SECRET_ARN }, TIMEOUT_MS)), (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.match(error.message, new RegExp(`${SECRET_ARN} is a JSON object without a "client_secret" string`));
        assert.ok(!error.message.includes(CLIENT_SECRET));
        return true;
      });
    }
  });

  it('a secret that only looks like JSON is taken as it is', async () => {
    secretsManager.answer = answering({ SecretString: '{not json' });
    assert.equal(await within(loadClientSecret({ kind: 'secretsmanager', id: SECRET_ARN }, TIMEOUT_MS)), '{not json');
  });

  it('an empty SecretString, or a binary secret, is an error', async () => {
    secretsManager.answer = answering({ SecretString: '' });
    await assert.rejects(within(loadClientSecret({ kind: 'secretsmanager', id: SECRET_ARN }, TIMEOUT_MS)), /has no SecretString/);
    secretsManager.answer = answering({ SecretBinary: Buffer.from(CLIENT_SECRET).toString('base64') });
    await assert.rejects(within(loadClientSecret({ kind: 'secretsmanager', id: SECRET_ARN }, TIMEOUT_MS)), /binary secret/);
  });

  it('400 ResourceNotFoundException rejects', async () => {
    secretsManager.answer = (_call, response) => respond(response, 400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
    await assert.rejects(within(loadClientSecret({ kind: 'secretsmanager', id: SECRET_ARN }, TIMEOUT_MS)), (error: unknown) => error instanceof Error && error.name === 'ResourceNotFoundException');
  });

  it('a server that never answers: rejects within the deadline', async () => {
    secretsManager.answer = () => undefined;
    await assert.rejects(within(loadClientSecret({ kind: 'secretsmanager', id: SECRET_ARN }, HANG_TIMEOUT_MS), 5 * HANG_TIMEOUT_MS), (error: unknown) => error instanceof Error && !/did not settle/.test(error.message));
  });
});
