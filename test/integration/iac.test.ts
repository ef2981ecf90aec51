import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { parseRouteTable } from '../../lib/authorizer/route-table.js';
import { generateTestKey, jwks, signJwt, userClaims } from '../helpers/jwt.js';
import { arnFor, policyAllows } from '../helpers/policy.js';
import { zipEntries } from '../helpers/zip.js';

// `serverless package` for real, with no AWS account and no network, in a copy of the project
// that has stale build folders planted in it: what it produces is what `serverless deploy` uploads.
const root = new URL('../..', import.meta.url).pathname;
const run = promisify(execFile);
const workDir = mkdtempSync(join(tmpdir(), 'bearer-gate-iac-'));
const service = join(workDir, 'service');
const previewService = join(workDir, 'service-preview');
const dpopService = join(workDir, 'service-dpop');
const consumer = join(workDir, 'consumer');
const table = parseRouteTable(JSON.parse(readFileSync(join(root, 'routes.json'), 'utf8')));
/** The issuer every packaged stage here is given: packaging without one fails (tested below). */
const ISSUER = 'https://issuer.test.example/';
const serverlessEnv: NodeJS.ProcessEnv = { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', FORCE_COLOR: '0' };

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: unknown };
type Template = { Resources: Record<string, Resource>; Outputs: Record<string, { Value: unknown; Export?: { Name: unknown } }> };
let template: Template;
let previewTemplate: Template;
let dpopTemplate: Template;
let consumerTemplate: Template;

const ofType = (t: Template, type: string): [string, Resource][] => Object.entries(t.Resources).filter(([, resource]) => resource.Type === type);
const fn = (name: string): Record<string, unknown> => template.Resources[`${name[0]!.toUpperCase()}${name.slice(1)}LambdaFunction`]!.Properties;

function copyService(to: string): void {
  mkdirSync(to);
  for (const entry of ['serverless.yml', 'serverless.parts.cjs', 'routes.json', 'routes.dpop.json', 'calendar-table.json', 'revocations-table.json', 'dpop-replay-table.json', 'package.json', 'tsconfig.json', 'handlers', 'lib', 'types']) {
    cpSync(join(root, entry), join(to, entry), { recursive: true });
  }
  symlinkSync(join(root, 'node_modules'), join(to, 'node_modules'), 'dir');
}

before(async () => {
  copyService(service);
  // Leftovers of an older build that must not end up in any artifact.
  mkdirSync(join(service, '.esbuild/.build/handlers'), { recursive: true });
  writeFileSync(join(service, '.esbuild/.build/handlers/stale.mjs'), 'export const marker = "STALE_BUILD_3f9c";');
  mkdirSync(join(service, '.serverless'));
  writeFileSync(join(service, '.serverless/stale.zip'), 'stale');
  await run('npm', ['run', '--silent', 'package', '--', '--param', `authIssuer=${ISSUER}`], { cwd: service, env: serverlessEnv, timeout: 120_000 });
  template = JSON.parse(readFileSync(join(service, '.serverless/cloudformation-template-update-stack.json'), 'utf8')) as Template;

  // A stage with its own route table, chosen the documented way (a param naming the file).
  copyService(previewService);
  cpSync(join(root, 'test/fixtures/routes.read-only.json'), join(previewService, 'routes.preview.json'));
  await run('npm', ['run', '--silent', 'package', '--', '--stage', 'preview', '--param', 'routeTable=routes.preview.json', '--param', `authIssuer=${ISSUER}`], { cwd: previewService, env: serverlessEnv, timeout: 120_000 });
  previewTemplate = JSON.parse(readFileSync(join(previewService, '.serverless/cloudformation-template-update-stack.json'), 'utf8')) as Template;

  // The documented DPoP stage: its route table (routes.dpop.json) comes from params.dpop.
  copyService(dpopService);
  await run('npm', ['run', '--silent', 'package', '--', '--stage', 'dpop', '--param', `authIssuer=${ISSUER}`], { cwd: dpopService, env: serverlessEnv, timeout: 120_000 });
  dpopTemplate = JSON.parse(readFileSync(join(dpopService, '.serverless/cloudformation-template-update-stack.json'), 'utf8')) as Template;

  cpSync(join(root, 'examples/consumer'), consumer, { recursive: true });
  await run(process.execPath, [join(root, 'node_modules/serverless/bin/serverless.js'), 'package'], { cwd: consumer, env: serverlessEnv, timeout: 120_000 });
  consumerTemplate = JSON.parse(readFileSync(join(consumer, '.serverless/cloudformation-template-update-stack.json'), 'utf8')) as Template;
}, { timeout: 240_000 });

after(() => rmSync(workDir, { recursive: true, force: true }));

describe('serverless package: the generated CloudFormation', () => {
  it('puts every REST route behind the REQUEST authorizer on the Authorization header, cached 30 s (revocation is on)', () => {
    // One authorizer: no API of routes.json requires DPoP, so there is no uncached one.
    assert.equal(ofType(template, 'AWS::ApiGateway::Authorizer').length, 1);
    const [[authorizerId, authorizer]] = ofType(template, 'AWS::ApiGateway::Authorizer') as [[string, Resource]];
    assert.equal(authorizer.Properties['Type'], 'REQUEST');
    assert.equal(authorizer.Properties['IdentitySource'], 'method.request.header.Authorization');
    assert.equal(authorizer.Properties['AuthorizerResultTtlInSeconds'], 30);
    const methods = ofType(template, 'AWS::ApiGateway::Method').filter(([, method]) => method.Properties['HttpMethod'] !== 'OPTIONS');
    assert.equal(methods.length, table.routes.length);
    for (const [name, method] of methods) {
      assert.equal(method.Properties['AuthorizationType'], 'CUSTOM', name);
      assert.deepEqual(method.Properties['AuthorizerId'], { Ref: authorizerId }, name);
    }
  });

  it('puts every HTTP API route behind the payload 2.0 authorizer, with policies, not simple responses', () => {
    assert.equal(ofType(template, 'AWS::ApiGatewayV2::Authorizer').length, 1);
    const [[authorizerId, authorizer]] = ofType(template, 'AWS::ApiGatewayV2::Authorizer') as [[string, Resource]];
    assert.equal(authorizer.Properties['AuthorizerPayloadFormatVersion'], '2.0');
    assert.equal(authorizer.Properties['EnableSimpleResponses'], false);
    assert.deepEqual(authorizer.Properties['IdentitySource'], ['$request.header.Authorization']);
    assert.equal(authorizer.Properties['AuthorizerResultTtlInSeconds'], 30);
    const routes = ofType(template, 'AWS::ApiGatewayV2::Route');
    assert.deepEqual(routes.map(([, route]) => route.Properties['RouteKey']).sort(), table.routes.map((route) => `${route.method} ${route.path}`).sort());
    for (const [name, route] of routes) {
      assert.equal(route.Properties['AuthorizationType'], 'CUSTOM', name);
      assert.deepEqual(route.Properties['AuthorizerId'], { Ref: authorizerId }, name);
    }
  });

  it('answers refusals as RFC 6750 says: 401 invalid_token and 403 insufficient_scope with WWW-Authenticate', () => {
    const responses: Record<string, Record<string, unknown>> = Object.fromEntries(ofType(template, 'AWS::ApiGateway::GatewayResponse').map(([, response]) => [String(response.Properties['ResponseType']), response.Properties]));
    const header = (type: string) => (responses[type]?.['ResponseParameters'] as Record<string, string>)['gatewayresponse.header.WWW-Authenticate'];
    assert.equal(responses['UNAUTHORIZED']?.['StatusCode'], '401');
    assert.equal(header('UNAUTHORIZED'), `'Bearer realm="bearer-gate", error="invalid_token"'`);
    assert.equal(responses['ACCESS_DENIED']?.['StatusCode'], '403');
    assert.equal(header('ACCESS_DENIED'), `'Bearer realm="bearer-gate", error="insufficient_scope"'`);
    // An outage is a retryable 503, never a 401 that tells the client its token is bad.
    for (const type of ['AUTHORIZER_FAILURE', 'AUTHORIZER_CONFIGURATION_ERROR']) {
      assert.equal(responses[type]?.['StatusCode'], '503', type);
      const parameters = responses[type]?.['ResponseParameters'] as Record<string, string>;
      assert.equal(parameters['gatewayresponse.header.Retry-After'], "'5'", type);
      assert.equal(parameters['gatewayresponse.header.Cache-Control'], "'no-store'", type);
    }
    for (const response of Object.values(responses)) {
      const body = JSON.parse((response['ResponseTemplates'] as Record<string, string>)['application/json']!) as Record<string, string>;
      assert.equal(typeof body['error'], 'string');
    }
  });

  it('runs nodejs22.x on arm64 with the memory and timeouts chosen from the benchmark, and keeps logs 30 days', () => {
    const expected: Record<string, [number, number]> = { authorizer: [256, 5], calendar: [256, 6], geocoding: [512, 6] };
    for (const [name, [memory, timeout]] of Object.entries(expected)) {
      assert.equal(fn(name)['Runtime'], 'nodejs22.x', name);
      assert.deepEqual(fn(name)['Architectures'], ['arm64'], name);
      assert.equal(fn(name)['MemorySize'], memory, name);
      assert.equal(fn(name)['Timeout'], timeout, name);
    }
    const logGroups = ofType(template, 'AWS::Logs::LogGroup');
    assert.equal(logGroups.length, 3);
    for (const [, group] of logGroups) assert.equal(group.Properties['RetentionInDays'], 30);
  });

  it('gives the calendar its own table and index, the authorizer only Query on the revocations table and PutItem on the DPoP replay table, the geocoder nothing', () => {
    const roles = Object.fromEntries(ofType(template, 'AWS::IAM::Role'));
    assert.deepEqual(fn('calendar')['Role'], { 'Fn::GetAtt': ['CalendarRole', 'Arn'] });
    assert.deepEqual(fn('authorizer')['Role'], { 'Fn::GetAtt': ['AuthorizerRole', 'Arn'] });
    const authorizerStatements = (roles['AuthorizerRole']?.Properties['Policies'] as { PolicyDocument: { Statement: { Action: string[]; Resource: unknown }[] } }[])
      .flatMap((policy) => policy.PolicyDocument.Statement);
    assert.deepEqual(authorizerStatements.map((statement) => [statement.Action, statement.Resource]), [
      [['dynamodb:Query'], { 'Fn::GetAtt': ['RevocationsTable', 'Arn'] }],
      [['dynamodb:PutItem'], { 'Fn::GetAtt': ['DpopReplayTable', 'Arn'] }],
    ]);
    assert.deepEqual(fn('geocoding')['Role'], { 'Fn::GetAtt': ['LambdaBasicRole', 'Arn'] });
    assert.equal(roles['LambdaBasicRole']?.Properties['Policies'], undefined);
    const statements = (roles['CalendarRole']?.Properties['Policies'] as { PolicyDocument: { Statement: { Action: string[]; Resource: unknown[] }[] } }[])
      .flatMap((policy) => policy.PolicyDocument.Statement);
    assert.deepEqual(statements.flatMap((statement) => statement.Action).sort(), ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query']);
    assert.deepEqual(statements.flatMap((statement) => statement.Resource), [{ 'Fn::GetAtt': ['CalendarTable', 'Arn'] }, { 'Fn::Sub': '${CalendarTable.Arn}/index/byStart' }]);
    for (const role of Object.values(roles)) {
      assert.deepEqual((role.Properties['ManagedPolicyArns'] as unknown[]).length, 1);
      assert.ok(!JSON.stringify(role.Properties).includes('"*"'), 'no wildcard resource');
    }
  });

  it('builds the revocations table from revocations-table.json, with its TTL, and gives the authorizer its name', () => {
    const { TableName, KeySchema, TimeToLiveSpecification, BillingMode } = template.Resources['RevocationsTable']!.Properties;
    assert.equal(TableName, 'bearer-gate-dev-revocations');
    assert.deepEqual(KeySchema, [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }]);
    assert.deepEqual(TimeToLiveSpecification, { AttributeName: 'expiresAt', Enabled: true });
    assert.equal(BillingMode, 'PAY_PER_REQUEST');
    assert.equal((fn('authorizer')['Environment'] as { Variables: Record<string, string> }).Variables['AUTH_REVOCATION_TABLE'], 'bearer-gate-dev-revocations');
  });

  it('builds the DPoP replay table from dpop-replay-table.json (key pk, TTL on expiresAt, on demand); no API requires DPoP, so the authorizer is not given it', () => {
    const { TableName, KeySchema, AttributeDefinitions, TimeToLiveSpecification, BillingMode } = template.Resources['DpopReplayTable']!.Properties;
    assert.equal(TableName, 'bearer-gate-dev-dpop-replay');
    assert.deepEqual(KeySchema, [{ AttributeName: 'pk', KeyType: 'HASH' }]);
    assert.deepEqual(AttributeDefinitions, [{ AttributeName: 'pk', AttributeType: 'S' }]);
    assert.deepEqual(TimeToLiveSpecification, { AttributeName: 'expiresAt', Enabled: true });
    assert.equal(BillingMode, 'PAY_PER_REQUEST');
    const env = (fn('authorizer')['Environment'] as { Variables: Record<string, string> }).Variables;
    // The DPoP scheme is refused on every route of this stage (none is behind the uncached
    // authorizer) before any proof is read: no replay table, no DPoP code at cold start. Only the
    // local stack points the authorizer at another DynamoDB, at its own origin, or takes DPoP everywhere.
    for (const name of ['AUTH_DPOP_REPLAY_TABLE', 'AUTH_DPOP_ON_ALL_ROUTES', 'AUTH_DPOP_REPLAY_ENDPOINT', 'AUTH_DPOP_PUBLIC_ORIGIN', 'AUTH_DPOP_BASE_PATH', 'AUTH_DPOP_ALGORITHMS', 'AUTH_DPOP_IAT_WINDOW_SECONDS', 'AUTH_DPOP_REPLAY_CONTAINER_ONLY', 'AUTH_DPOP_REPLAY_TIMEOUT_MS', 'AUTH_DPOP_REPLAY_CACHE_SIZE']) {
      assert.equal(env[name], '', name);
    }
  });

  it('builds the table from calendar-table.json and passes its name to the calendar only', () => {
    const { TableName, KeySchema, LocalSecondaryIndexes } = template.Resources['CalendarTable']!.Properties;
    assert.equal(TableName, 'bearer-gate-dev-events');
    assert.deepEqual(KeySchema, [{ AttributeName: 'owner', KeyType: 'HASH' }, { AttributeName: 'id', KeyType: 'RANGE' }]);
    assert.equal((LocalSecondaryIndexes as { IndexName: string }[])[0]?.IndexName, 'byStart');
    assert.equal((fn('calendar')['Environment'] as { Variables: Record<string, string> }).Variables['CALENDAR_TABLE'], 'bearer-gate-dev-events');
    assert.equal(fn('geocoding')['Environment'], undefined);
    const authorizerEnv = (fn('authorizer')['Environment'] as { Variables: Record<string, string> }).Variables;
    assert.deepEqual(Object.keys(authorizerEnv).sort(), [
      'AUTH_DPOP_ALGORITHMS', 'AUTH_DPOP_BASE_PATH', 'AUTH_DPOP_IAT_WINDOW_SECONDS', 'AUTH_DPOP_ON_ALL_ROUTES', 'AUTH_DPOP_PUBLIC_ORIGIN', 'AUTH_DPOP_REPLAY_CACHE_SIZE',
      'AUTH_DPOP_REPLAY_CONTAINER_ONLY', 'AUTH_DPOP_REPLAY_ENDPOINT', 'AUTH_DPOP_REPLAY_TABLE', 'AUTH_DPOP_REPLAY_TIMEOUT_MS',
      'AUTH_INTROSPECTION', 'AUTH_INTROSPECTION_AUTH_METHOD', 'AUTH_INTROSPECTION_CLIENT_ID', 'AUTH_INTROSPECTION_CLIENT_SECRET',
      'AUTH_INTROSPECTION_CLIENT_SECRET_ARN', 'AUTH_INTROSPECTION_CLIENT_SECRET_SSM', 'AUTH_INTROSPECTION_ENDPOINT',
      'AUTH_ISSUER', 'AUTH_ISSUERS', 'AUTH_ISSUER_PROFILE', 'AUTH_JWKS_URI', 'AUTH_REVOCATION_ENDPOINT', 'AUTH_REVOCATION_TABLE',
    ]);
    // Introspection is off unless a stage turns it on.
    for (const name of Object.keys(authorizerEnv).filter((key) => key.startsWith('AUTH_INTROSPECTION'))) assert.equal(authorizerEnv[name], '', name);
  });

  it('exports the authorizer ARN for other stacks', () => {
    const output = template.Outputs['AuthorizerFunctionArn'];
    assert.deepEqual(output?.Value, { 'Fn::GetAtt': ['AuthorizerLambdaFunction', 'Arn'] });
    assert.equal(output?.Export?.Name, 'bearer-gate-dev-authorizer-arn');
  });

  it('contains no secret', () => {
    const text = JSON.stringify(template);
    for (const secret of ['local-password', 'geocoding-backend-local-secret', 'no-grant-client-local-secret', 'geocoding-backend-opaque-local-secret', 'bearer-gate-authorizer-local-secret', 'BEGIN PRIVATE KEY', '"d":']) {
      assert.ok(!text.includes(secret), secret);
    }
    assert.ok(!/AKIA[0-9A-Z]{16}/.test(text), 'an AWS access key id');
  });
});

describe('serverless package: the artifacts', () => {
  it('zips each function with its own handler only, within its size budget, whatever stale builds lay around', () => {
    const budgets: Record<string, number> = { authorizer: 60 * 1024, calendar: 1024 * 1024, geocoding: 10 * 1024 * 1024 };
    for (const [name, budget] of Object.entries(budgets)) {
      const entries = zipEntries(join(service, `.serverless/${name}.zip`));
      // The handler, and the chunks splitting makes (shared code, and features loaded only when on).
      assert.ok(entries.some((entry) => entry.name === `handlers/${name}.mjs`), `${name}: ${entries.map((entry) => entry.name).join(', ')}`);
      for (const entry of entries.filter((entry) => entry.name !== `handlers/${name}.mjs`)) assert.match(entry.name, /^handlers\/[a-z-]+-[A-Z0-9]{8}\.mjs$/, `${name}: ${entry.name}`);
      for (const entry of entries) assert.ok(!entry.read().toString('utf8').includes('STALE_BUILD_3f9c'), `${name} holds stale code`);
      // What a cold start loads: the handler and the chunks it imports statically.
      const byName = new Map(entries.map((entry) => [entry.name.slice('handlers/'.length), entry]));
      const loaded = new Set<string>();
      const visit = (file: string): void => {
        if (loaded.has(file)) return;
        loaded.add(file);
        for (const [, imported] of byName.get(file)!.read().toString('utf8').matchAll(/(?:^|[;}\s])import(?:[^"'(]*?from)?\s*"\.\/([^"]+)"/g)) visit(imported!);
      };
      visit(`${name}.mjs`);
      const size = [...loaded].reduce((sum, file) => sum + byName.get(file)!.size, 0);
      assert.ok(size <= budget, `${name}: ${size} bytes loaded at cold start > ${budget}`);
    }
    assert.throws(() => readFileSync(join(service, '.serverless/stale.zip')));
    const authorizer = zipEntries(join(service, '.serverless/authorizer.zip')).map((entry) => entry.read().toString('utf8')).join('\n');
    assert.ok(authorizer.includes('execute-api:Invoke'), 'the authorizer bundle is the authorizer');
    assert.ok(!authorizer.includes('STALE_BUILD_3f9c') && !authorizer.includes('kdbush'), 'and holds nothing else');
    // The AWS SDK stays out (the runtime ships it): one dynamic import, loaded only with revocation on.
    assert.ok(authorizer.includes('import("@aws-sdk/client-dynamodb")'), 'the SDK is imported at run time');
    assert.ok(!authorizer.includes('@smithy') && !authorizer.includes('ProvisionedThroughputExceededException'), 'no SDK code in the bundle');
  });
});

describe('a consumer stack attaches the exported authorizer', () => {
  it('on its REST API and its HTTP API, with the permission for API Gateway to invoke it', () => {
    const imported = { 'Fn::ImportValue': 'bearer-gate-dev-authorizer-arn' };
    const [[, rest]] = ofType(consumerTemplate, 'AWS::ApiGateway::Authorizer') as [[string, Resource]];
    const [[, http]] = ofType(consumerTemplate, 'AWS::ApiGatewayV2::Authorizer') as [[string, Resource]];
    for (const authorizer of [rest, http]) assert.ok(JSON.stringify(authorizer.Properties['AuthorizerUri']).includes(JSON.stringify(imported)));
    assert.equal(http.Properties['EnableSimpleResponses'], false);
    const permissions = ofType(consumerTemplate, 'AWS::Lambda::Permission').filter(([, permission]) => JSON.stringify(permission.Properties['FunctionName']) === JSON.stringify(imported));
    assert.equal(permissions.length, 2);
    for (const [name, method] of ofType(consumerTemplate, 'AWS::ApiGateway::Method')) assert.equal(method.Properties['AuthorizationType'], 'CUSTOM', name);
    for (const [name, route] of ofType(consumerTemplate, 'AWS::ApiGatewayV2::Route')) assert.equal(route.Properties['AuthorizationType'], 'CUSTOM', name);
  });
});

describe('stages', () => {
  it('a prod stage refuses to package without its issuer, and takes it from the environment', async () => {
    const cli = [join(root, 'node_modules/serverless/bin/serverless.js'), 'print', '--stage', 'prod', '--format', 'json'];
    const { PROD_AUTH_ISSUER: _unset, ...withoutIssuer } = serverlessEnv;
    await assert.rejects(run(process.execPath, cli, { cwd: service, env: withoutIssuer, timeout: 60_000 }), (error: { stdout?: string; stderr?: string }) => /AUTH_ISSUER for stage "prod" is not set\. Set PROD_AUTH_ISSUER in the environment/.test(`${error.stdout}${error.stderr}`));
    const { stdout } = await run(process.execPath, cli, { cwd: service, env: { ...serverlessEnv, PROD_AUTH_ISSUER: 'https://login.example.com/' }, timeout: 60_000 });
    const config = JSON.parse(stdout) as { functions: { authorizer: { environment: Record<string, string> } } };
    assert.equal(config.functions.authorizer.environment['AUTH_ISSUER'], 'https://login.example.com/');
  });

  it('any other stage refuses to package without a real issuer, naming the variable; a loopback issuer is only for serverless offline', async () => {
    const print = (...params: string[]) => run(process.execPath, [join(root, 'node_modules/serverless/bin/serverless.js'), 'print', '--stage', 'staging', '--format', 'json', ...params.flatMap((param) => ['--param', param])], { cwd: service, env: serverlessEnv, timeout: 60_000 });
    const failsWith = (pattern: RegExp) => (error: { stdout?: string; stderr?: string }) => pattern.test(`${error.stdout}${error.stderr}`);
    await assert.rejects(print(), failsWith(/AUTH_ISSUER for stage "staging" is not set\. Pass --param "authIssuer=https:\/\/your-issuer\.example\.com\/"/));
    await assert.rejects(print('authIssuer=http://localhost:4000/'), failsWith(/"http:\/\/localhost:4000\/", a loopback address no deployed Lambda can reach/));
    const { stdout } = await print(`authIssuer=${ISSUER}`);
    assert.equal((JSON.parse(stdout) as { functions: { authorizer: { environment: Record<string, string> } } }).functions.authorizer.environment['AUTH_ISSUER'], ISSUER);
  });

  it('introspection\'s secret in SSM or Secrets Manager: the authorizer may read that one parameter or secret and nothing more; a literal secret never packages', async () => {
    type Statement = { Effect: string; Action: string[]; Resource: unknown };
    type Config = { functions: { authorizer: { environment: Record<string, string> } }; resources: { Resources: { AuthorizerRole: { Properties: { Policies: { PolicyName: string; PolicyDocument: { Statement: Statement[] } }[] } } } } };
    const print = async (...params: string[]): Promise<Config> => JSON.parse((await run(process.execPath, [join(root, 'node_modules/serverless/bin/serverless.js'), 'print', '--stage', 'staging', '--format', 'json', ...[`authIssuer=${ISSUER}`, 'introspection=opaque', 'introspectionClientId=bearer-gate-authorizer', ...params].flatMap((param) => ['--param', param])], { cwd: service, env: serverlessEnv, timeout: 60_000 })).stdout) as Config;
    const introspectionStatements = (config: Config): [string, string[], unknown][] => config.resources.Resources.AuthorizerRole.Properties.Policies
      .filter((policy) => policy.PolicyName !== 'revocations-read' && policy.PolicyName !== 'dpop-replay-write')
      .flatMap((policy) => policy.PolicyDocument.Statement.map((statement): [string, string[], unknown] => [statement.Effect, statement.Action, statement.Resource]));
    const partition = 'arn:${AWS::Partition}';
    const here = '${AWS::Region}:${AWS::AccountId}';

    const ssmByName = await print('introspectionClientSecretSsm=/bearer-gate/staging/introspection-secret');
    assert.deepEqual(introspectionStatements(ssmByName), [['Allow', ['ssm:GetParameter'], { 'Fn::Sub': `${partition}:ssm:${here}:parameter/bearer-gate/staging/introspection-secret` }]]);
    assert.equal(ssmByName.functions.authorizer.environment['AUTH_INTROSPECTION'], 'opaque');
    assert.equal(ssmByName.functions.authorizer.environment['AUTH_INTROSPECTION_CLIENT_SECRET_SSM'], '/bearer-gate/staging/introspection-secret');
    const ssmArn = 'arn:aws:ssm:eu-west-1:123456789012:parameter/shared/introspection-secret';
    assert.deepEqual(introspectionStatements(await print(`introspectionClientSecretSsm=${ssmArn}`)), [['Allow', ['ssm:GetParameter'], ssmArn]]);
    // A secret's ARN ends in six random characters: a name matches exactly those, no more.
    assert.deepEqual(introspectionStatements(await print('introspectionClientSecretArn=bearer-gate/introspection')), [['Allow', ['secretsmanager:GetSecretValue'], { 'Fn::Sub': `${partition}:secretsmanager:${here}:secret:bearer-gate/introspection-??????` }]]);
    const secretArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bearer-gate/introspection-AbCdEf';
    assert.deepEqual(introspectionStatements(await print(`introspectionClientSecretArn=${secretArn}`)), [['Allow', ['secretsmanager:GetSecretValue'], secretArn]]);

    const failsWith = (pattern: RegExp) => (error: { stdout?: string; stderr?: string }) => {
      assert.match(`${error.stdout}${error.stderr}`, pattern);
      return true;
    };
    await assert.rejects(print('introspectionClientSecret=not-in-a-template'), failsWith(/a literal secret is for the local stack only/));
    await assert.rejects(print(), failsWith(/set exactly one of introspectionClientSecretSsm, introspectionClientSecretArn/));
    await assert.rejects(print(`introspectionClientSecretSsm=${ssmArn}`, `introspectionClientSecretArn=${secretArn}`), failsWith(/set exactly one of/));
    await assert.rejects(print('introspection=sometimes'), failsWith(/params\.staging\.introspection is "sometimes"/));
  });

  it('a stage with its own route table gets exactly that table\'s routes on both APIs, and an authorizer built with it', async () => {
    const previewTable = parseRouteTable(JSON.parse(readFileSync(join(root, 'test/fixtures/routes.read-only.json'), 'utf8')));
    // Routes of an API with no function here (another stack serves it) get no API Gateway route.
    const expected = previewTable.routes.filter((route) => route.api.function !== undefined).map((route) => `${route.method} ${route.path}`).sort();
    assert.ok(previewTable.routes.some((route) => route.api.function === undefined), 'the fixture has an API served elsewhere');
    assert.notDeepEqual(expected, table.routes.map((route) => `${route.method} ${route.path}`).sort(), 'the fixture differs from routes.json');
    const restMethods = ofType(previewTemplate, 'AWS::ApiGateway::Method').filter(([, method]) => method.Properties['HttpMethod'] !== 'OPTIONS');
    assert.equal(restMethods.length, expected.length);
    for (const [name, method] of restMethods) assert.equal(method.Properties['AuthorizationType'], 'CUSTOM', name);
    assert.deepEqual(ofType(previewTemplate, 'AWS::ApiGatewayV2::Route').map(([, route]) => route.Properties['RouteKey']).sort(), expected);

    // The packaged authorizer, run as Lambda would run it: its policies follow the stage's table.
    // The key comes from a JWKS snapshot and the JWKS URI is a closed port, so nothing is fetched.
    const key = generateTestKey('ES256');
    const issuer = 'https://issuer.preview.example/';
    // Unzipped as Lambda does: the handler imports its chunks from beside it.
    const unzipped = join(workDir, 'preview-authorizer');
    for (const entry of zipEntries(join(previewService, '.serverless/authorizer.zip'))) {
      mkdirSync(dirname(join(unzipped, entry.name)), { recursive: true });
      writeFileSync(join(unzipped, entry.name), entry.read());
    }
    const bundle = join(unzipped, 'handlers/authorizer.mjs');
    const env = { AUTH_ISSUER: issuer, AUTH_JWKS_URI: 'http://127.0.0.1:9/jwks', AUTH_JWKS_SNAPSHOT: JSON.stringify(jwks(key)), AUTH_LOG_LEVEL: 'silent', AUTH_METRICS: 'false' };
    Object.assign(process.env, env);
    let handler: (event: unknown) => Promise<APIGatewayAuthorizerResult>;
    try {
      ({ handler } = await import(bundle) as { handler: typeof handler });
    } finally {
      for (const name of Object.keys(env)) delete process.env[name];
    }
    const authorization = `Bearer ${signJwt(key, userClaims(issuer, { scope: 'read write' }))}`;
    const request = (method: string, path: string) => ({
      type: 'REQUEST', methodArn: arnFor(method, path), resource: path, path, httpMethod: method, headers: { Authorization: authorization },
    });
    const result = await handler(request('GET', '/calendar/v1/events'));
    assert.ok(policyAllows(result, arnFor('GET', '/calendar/v1/events/abc')));
    // routes.json has these write routes; this stage's table does not, so no policy may name them.
    for (const [method, path] of [['POST', '/calendar/v1/events'], ['PUT', '/calendar/v1/events/abc'], ['DELETE', '/calendar/v1/events/abc']] as const) {
      assert.ok(!policyAllows(result, arnFor(method, path)), `${method} ${path}`);
    }
    // Asked for a route this stage does not have, it still answers no policy that opens it (403).
    assert.ok(!policyAllows(await handler(request('POST', '/calendar/v1/events')), arnFor('POST', '/calendar/v1/events')));
    // The API another stack serves is authorized from the same table.
    const whoami = `Bearer ${signJwt(key, userClaims(issuer, { aud: 'https://api.example.com/whoami/' }))}`;
    const consumerResult = await handler({ ...request('GET', '/whoami'), headers: { Authorization: whoami } });
    assert.ok(policyAllows(consumerResult, arnFor('GET', '/whoami')));
  });

  it('a stage whose route table is missing, outside the service or invalid does not package, and the error names the file and the fix', async () => {
    const cli = (routeTable: string) => run(process.execPath, [join(root, 'node_modules/serverless/bin/serverless.js'), 'print', '--stage', 'qa', '--param', `routeTable=${routeTable}`], { cwd: service, env: serverlessEnv, timeout: 60_000 });
    const failsWith = (pattern: RegExp) => (error: { stdout?: string; stderr?: string }) => {
      assert.match(`${error.stdout}${error.stderr}`, pattern);
      return true;
    };
    await assert.rejects(cli('routes.qa.json'), failsWith(/Route table for stage "qa": cannot read "routes\.qa\.json".*Set params\.qa\.routeTable/));
    await assert.rejects(cli('../routes.json'), failsWith(/"\.\.\/routes\.json" is outside the service directory/));
    writeFileSync(join(service, 'routes.overlap.json'), JSON.stringify({ apis: [{ name: 'a', audience: 'https://a/', function: 'calendar', routes: [
      { method: 'GET', path: '/a/{id}', scopes: [], requireUser: false },
      { method: 'GET', path: '/a/admin', scopes: ['admin'], requireUser: false },
    ] }] }));
    await assert.rejects(cli('routes.overlap.json'), failsWith(/Route table for stage "qa" \("routes\.overlap\.json"\) is invalid: .*\/a\/admin/));
    writeFileSync(join(service, 'routes.foreign.json'), JSON.stringify({ apis: [{ name: 'billing', audience: 'https://b/', function: 'billing', routes: [
      { method: 'GET', path: '/b', scopes: [], requireUser: false },
    ] }] }));
    await assert.rejects(cli('routes.foreign.json'), failsWith(/API "billing" names function "billing", which this service does not have/));
  });
});

describe('the dpop stage: the calendar requires DPoP, and no cached answer stands in for a proof', () => {
  const dpopTable = parseRouteTable(JSON.parse(readFileSync(join(root, 'routes.dpop.json'), 'utf8')));
  const dpopApis = new Set(dpopTable.apis.filter((api) => api.requireDpop).map((api) => api.function));
  const lambdaOf = (resource: Resource): string => JSON.stringify(resource.Properties['AuthorizerUri']);

  it('routes.dpop.json is routes.json with requireDpop on the calendar API only', () => {
    assert.deepEqual([...dpopApis], ['calendar']);
    const strip = (document: { apis: Record<string, unknown>[] }) => document.apis.map(({ requireDpop: _requireDpop, ...api }) => api);
    assert.deepEqual(strip(JSON.parse(readFileSync(join(root, 'routes.dpop.json'), 'utf8')) as { apis: Record<string, unknown>[] }), strip(JSON.parse(readFileSync(join(root, 'routes.json'), 'utf8')) as { apis: Record<string, unknown>[] }));
  });

  it('REST: the calendar\'s methods go to a second authorizer of the same function, never cached; the geocoder\'s to the cached one', () => {
    const authorizers = Object.fromEntries(ofType(dpopTemplate, 'AWS::ApiGateway::Authorizer'));
    assert.deepEqual(Object.keys(authorizers).sort(), ['AuthorizerApiGatewayAuthorizer', 'DpopAuthorizerApiGatewayAuthorizer']);
    const cached = authorizers['AuthorizerApiGatewayAuthorizer']!;
    const uncached = authorizers['DpopAuthorizerApiGatewayAuthorizer']!;
    assert.equal(cached.Properties['AuthorizerResultTtlInSeconds'], 30);
    assert.equal(uncached.Properties['AuthorizerResultTtlInSeconds'], 0);
    for (const authorizer of [cached, uncached]) {
      assert.equal(authorizer.Properties['Type'], 'REQUEST');
      // Not the DPoP header: a cached REQUEST authorizer answers 401 itself to a request that lacks
      // one of its identity sources, and with TTL 0 the header would gate nothing the function does not check.
      assert.equal(authorizer.Properties['IdentitySource'], 'method.request.header.Authorization');
      assert.ok(lambdaOf(authorizer).includes('"AuthorizerLambdaFunction","Arn"'), 'the authorizer function');
    }
    assert.equal(lambdaOf(cached), lambdaOf(uncached), 'one function behind both');
    const permission = dpopTemplate.Resources['DpopAuthorizerLambdaPermissionApiGateway'];
    assert.deepEqual(permission?.Properties['FunctionName'], { 'Fn::GetAtt': ['AuthorizerLambdaFunction', 'Arn'] });
    const methods = ofType(dpopTemplate, 'AWS::ApiGateway::Method').filter(([, method]) => method.Properties['HttpMethod'] !== 'OPTIONS');
    assert.equal(methods.length, dpopTable.routes.length);
    for (const [name, method] of methods) {
      const expected = name.startsWith('ApiGatewayMethodCalendar') ? 'DpopAuthorizerApiGatewayAuthorizer' : 'AuthorizerApiGatewayAuthorizer';
      assert.deepEqual(method.Properties['AuthorizerId'], { Ref: expected }, name);
    }
  });

  it('HTTP API: the calendar\'s routes go to the dpop authorizer (TTL 0, policies), the geocoder\'s to bearer (30 s)', () => {
    const authorizers = Object.fromEntries(ofType(dpopTemplate, 'AWS::ApiGatewayV2::Authorizer'));
    assert.deepEqual(Object.keys(authorizers).sort(), ['HttpApiAuthorizerBearer', 'HttpApiAuthorizerDpop']);
    assert.equal(authorizers['HttpApiAuthorizerBearer']!.Properties['AuthorizerResultTtlInSeconds'], 30);
    assert.equal(authorizers['HttpApiAuthorizerDpop']!.Properties['AuthorizerResultTtlInSeconds'], 0);
    for (const authorizer of Object.values(authorizers)) {
      assert.equal(authorizer.Properties['AuthorizerPayloadFormatVersion'], '2.0');
      assert.equal(authorizer.Properties['EnableSimpleResponses'], false);
      assert.deepEqual(authorizer.Properties['IdentitySource'], ['$request.header.Authorization']);
    }
    assert.equal(lambdaOf(authorizers['HttpApiAuthorizerBearer']!), lambdaOf(authorizers['HttpApiAuthorizerDpop']!));
    const routes = ofType(dpopTemplate, 'AWS::ApiGatewayV2::Route');
    assert.equal(routes.length, dpopTable.routes.length);
    for (const [name, route] of routes) {
      const expected = String(route.Properties['RouteKey']).includes(' /calendar/') ? 'HttpApiAuthorizerDpop' : 'HttpApiAuthorizerBearer';
      assert.deepEqual(route.Properties['AuthorizerId'], { Ref: expected }, name);
    }
  });

  it('REST 401s carry a DPoP challenge with the accepted algorithms beside the Bearer one (RFC 9449 §7.1, §7.2); 403s stay Bearer', () => {
    const responses: Record<string, Record<string, unknown>> = Object.fromEntries(ofType(dpopTemplate, 'AWS::ApiGateway::GatewayResponse').map(([, response]) => [String(response.Properties['ResponseType']), response.Properties]));
    const header = (type: string) => (responses[type]?.['ResponseParameters'] as Record<string, string>)['gatewayresponse.header.WWW-Authenticate'];
    assert.equal(header('UNAUTHORIZED'), `'DPoP realm="bearer-gate", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA", error="invalid_token", Bearer realm="bearer-gate", error="invalid_token"'`);
    assert.equal(header('ACCESS_DENIED'), `'Bearer realm="bearer-gate", error="insufficient_scope"'`);
    const env = (dpopTemplate.Resources['AuthorizerLambdaFunction']!.Properties['Environment'] as { Variables: Record<string, string> }).Variables;
    assert.equal(env['AUTH_DPOP_REPLAY_TABLE'], 'bearer-gate-dpop-dpop-replay');
    assert.equal(dpopTemplate.Resources['DpopReplayTable']?.Properties['TableName'], 'bearer-gate-dpop-dpop-replay');
  });

  it('the DPoP settings are checked when the stage is packaged, by the authorizer\'s parser, naming the param; the challenge follows dpopAlgorithms', async () => {
    const print = (...params: string[]) => run(process.execPath, [join(root, 'node_modules/serverless/bin/serverless.js'), 'print', '--stage', 'dpop', '--format', 'json', ...[`authIssuer=${ISSUER}`, ...params].flatMap((param) => ['--param', param])], { cwd: dpopService, env: serverlessEnv, timeout: 60_000 });
    type Config = { functions: { authorizer: { environment: Record<string, string> } }; resources: { Resources: { UnauthorizedGatewayResponse: { Properties: { ResponseParameters: Record<string, string> } } } } };
    const config = JSON.parse((await print('dpopAlgorithms=ES256,EdDSA', 'dpopIatWindowSeconds=120')).stdout) as Config;
    assert.match(config.resources.Resources.UnauthorizedGatewayResponse.Properties.ResponseParameters['gatewayresponse.header.WWW-Authenticate']!, /^'DPoP realm="bearer-gate", algs="ES256 EdDSA", error="invalid_token", Bearer /);
    assert.equal(config.functions.authorizer.environment['AUTH_DPOP_ALGORITHMS'], 'ES256,EdDSA');
    assert.equal(config.functions.authorizer.environment['AUTH_DPOP_IAT_WINDOW_SECONDS'], '120');
    const failsWith = (pattern: RegExp) => (error: { stdout?: string; stderr?: string }) => {
      assert.match(`${error.stdout}${error.stderr}`, pattern);
      return true;
    };
    await assert.rejects(print('dpopAlgorithms=HS256'), failsWith(/DPoP settings of stage "dpop" \(params\.dpop\.dpopAlgorithms\): AUTH_DPOP_ALGORITHMS: "HS256" is not supported/));
    await assert.rejects(print('dpopPublicOrigin=https://api.example.com/v1'), failsWith(/params\.dpop\.dpopPublicOrigin.*is not an origin/));
    // DPoP on every route would put the geocoder's cached routes in front of proofs: only serverless offline may.
    await assert.rejects(print('dpopOnAllRoutes=true'), failsWith(/params\.dpop\.dpopOnAllRoutes is true, but the routes of geocoding sit behind the caching authorizer/));
  });

  it('the packaged authorizer of the stage bundles routes.dpop.json: an unbound Bearer token is refused on the calendar and allowed on the geocoder', async () => {
    const key = generateTestKey('ES256');
    const issuer = 'https://issuer.dpop.example/';
    const unzipped = join(workDir, 'dpop-authorizer');
    for (const entry of zipEntries(join(dpopService, '.serverless/authorizer.zip'))) {
      mkdirSync(dirname(join(unzipped, entry.name)), { recursive: true });
      writeFileSync(join(unzipped, entry.name), entry.read());
    }
    const env = { AUTH_ISSUER: issuer, AUTH_JWKS_URI: 'http://127.0.0.1:9/jwks', AUTH_JWKS_SNAPSHOT: JSON.stringify(jwks(key)), AUTH_LOG_LEVEL: 'silent', AUTH_METRICS: 'false' };
    Object.assign(process.env, env);
    let handler: (event: unknown) => Promise<APIGatewayAuthorizerResult>;
    try {
      ({ handler } = await import(join(unzipped, 'handlers/authorizer.mjs')) as { handler: typeof handler });
    } finally {
      for (const name of Object.keys(env)) delete process.env[name];
    }
    const request = (method: string, path: string, token: string) => ({
      type: 'REQUEST', methodArn: arnFor(method, path), resource: path, path, httpMethod: method, headers: { Authorization: `Bearer ${token}` },
    });
    // An unbound token is refused on the calendar: no policy names its routes (a Deny, 403).
    const calendarToken = signJwt(key, userClaims(issuer, { scope: 'read' }));
    const calendar = await handler(request('GET', '/calendar/v1/events', calendarToken));
    for (const [method, path] of [['GET', '/calendar/v1/events'], ['GET', '/calendar/v1/events/abc'], ['POST', '/calendar/v1/events']] as const) {
      assert.ok(!policyAllows(calendar, arnFor(method, path)), `${method} ${path}`);
    }
    const geocodingToken = signJwt(key, userClaims(issuer, { aud: 'https://api.example.com/geocoding/v1/' }));
    assert.ok(policyAllows(await handler(request('GET', '/geocoding/v1/reverse', geocodingToken)), arnFor('GET', '/geocoding/v1/reverse')));
  });
});
