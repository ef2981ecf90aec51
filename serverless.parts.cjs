// Builds parts of serverless.yml from the project's data files, so that what API Gateway and
// DynamoDB are given cannot drift from what the code and the local stack use:
//   ${file(./serverless.parts.cjs):events.<function>}  http + httpApi events from the stage's route table
//   ${file(./serverless.parts.cjs):routeTablePath}     that route table's absolute path (the authorizer bundles it)
//   ${file(./serverless.parts.cjs):calendarTable}      table properties from calendar-table.json
//   ${file(./serverless.parts.cjs):authIssuer}         the stage's issuer, required for anything but serverless offline
//   ${file(./serverless.parts.cjs):revocationsTable}   revocations table properties from revocations-table.json
//   ${file(./serverless.parts.cjs):authorizerTtl}      the authorizer result TTL: shorter when revocation is on
//   ${file(./serverless.parts.cjs):introspection.*}    introspection's mode and literal secret, checked
//   ${file(./serverless.parts.cjs):authorizerPolicies} the authorizer role's policies: the revocations
//                                                       table, the DPoP replay table, and introspection's
//                                                       secret when it is named
//   ${file(./serverless.parts.cjs):dpopReplayTable}    DPoP replay table properties from dpop-replay-table.json
//   ${file(./serverless.parts.cjs):httpApiAuthorizers} the HTTP API's authorizers: `bearer`, and `dpop` when
//                                                       an API of the route table requires DPoP
//   ${file(./serverless.parts.cjs):dpop.*}             the DPoP settings, checked by the authorizer's own
//                                                       parser; `unauthorizedChallenge`, the REST API's
//                                                       401 WWW-Authenticate (with a DPoP challenge when
//                                                       an API requires DPoP); the replay table's
//                                                       variables, set only where proofs are checked
const { readFileSync } = require('node:fs');
const { isAbsolute, join, relative, sep } = require('node:path');

// The functions of serverless.yml that serve a route-table API. A table naming any other function
// would describe routes that no API Gateway route reaches, so it is refused (an API that another
// stack serves has no "function" and gets no routes here).
const API_FUNCTIONS = ['calendar', 'geocoding'];

const readJson = (name) => JSON.parse(readFileSync(join(__dirname, name), 'utf8'));

/**
 * Reads and validates the stage's route table (param `routeTable`, relative to this file) with the
 * authorizer's own parser, so a table the authorizer would refuse at cold start fails the package
 * or deploy instead.
 */
async function loadRouteTable(file, stage) {
  const fix = `Set params.${stage}.routeTable in serverless.yml (or --param "routeTable=<file>") to a route table JSON file inside the service directory.`;
  if (typeof file !== 'string' || file === '') throw new Error(`Route table for stage "${stage}": no file given. ${fix}`);
  const path = join(__dirname, file);
  const inside = relative(__dirname, path);
  if (isAbsolute(file) || inside === '..' || inside.startsWith(`..${sep}`)) throw new Error(`Route table for stage "${stage}": "${file}" is outside the service directory. ${fix}`);
  let document;
  try {
    document = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`Route table for stage "${stage}": cannot read "${inside}" as JSON (${error.message}). ${fix}`, { cause: error });
  }
  // The parser is TypeScript; tsx (a dev dependency, like the framework itself) loads it here.
  const { parseRouteTable } = require('tsx/cjs/api').require('./lib/authorizer/route-table.ts', __filename);
  let table;
  try {
    table = parseRouteTable(document);
  } catch (error) {
    throw new Error(`Route table for stage "${stage}" ("${inside}") is invalid: ${error.message}`, { cause: error });
  }
  for (const api of table.apis) {
    if (api.function !== undefined && !API_FUNCTIONS.includes(api.function)) {
      throw new Error(`Route table for stage "${stage}" ("${inside}"): API "${api.name}" names function "${api.function}", which this service does not have (${API_FUNCTIONS.join(', ')}). Fix the name, leave "function" out for an API another stack serves, or add the new function to serverless.yml and to API_FUNCTIONS in serverless.parts.cjs.`);
    }
  }
  return { path, table };
}

// API Gateway reuses a cached allow for this long without asking the authorizer, so it is part of
// how long a revoked token keeps working: 30 s with revocation on (plus the refresh interval),
// 300 s without.
const TTL_WITH_REVOCATION = 30;
const TTL_WITHOUT_REVOCATION = 300;

function revocationOn(value, stage) {
  if (value === 'on' || value === true || value === 'true') return true;
  if (value === 'off' || value === false || value === 'false' || value === '') return false;
  throw new Error(`params.${stage}.revocation is "${value}": use on or off (--param "revocation=off")`);
}

/*
 * Two authorizers, one function. API Gateway caches an authorizer's answer by its identity
 * sources (the Authorization header) for the TTL, and answers later requests with the same
 * header from that cache without calling the function. A DPoP proof is new on every request
 * (RFC 9449 §4.3, §11.1), so a cached allow would let the same token through with any proof, a
 * replayed one, or none: the routes of an API that requires DPoP ("requireDpop": true) go to a
 * second authorizer with caching off (TTL 0), every request checked. The proof cannot go in the
 * cached authorizer's identity sources instead: a REST REQUEST authorizer with caching refuses
 * (401, without calling the function) any request that lacks one of them, so every bearer route
 * behind it would break. With TTL 0 no identity source is required; the Authorization header is
 * kept, so a request without any credential is still refused at the gateway for free.
 */
const DPOP_REST_AUTHORIZER = 'dpopAuthorizer';
const DPOP_HTTP_AUTHORIZER = 'dpop';

function restAuthorizer(api, ttl, offline) {
  const common = { type: 'request', identitySource: 'method.request.header.Authorization' };
  if (!api.requireDpop) return { name: 'authorizer', ...common, resultTtlInSeconds: ttl };
  // The same function under a second name needs its ARN (a name alone must be a function's). Serverless
  // offline runs only authorizers named by function, and caches none: there, the authorizer by name.
  if (offline) return { name: 'authorizer', ...common, resultTtlInSeconds: 0 };
  return { name: DPOP_REST_AUTHORIZER, arn: { 'Fn::GetAtt': ['AuthorizerLambdaFunction', 'Arn'] }, ...common, resultTtlInSeconds: 0 };
}

function eventsByFunction(table, ttl, offline) {
  const events = Object.fromEntries(API_FUNCTIONS.map((name) => [name, []]));
  for (const route of table.routes) {
    if (route.api.function === undefined) continue;
    events[route.api.function].push({
      http: {
        method: route.method.toLowerCase(),
        // Without the leading slash: serverless offline keys its auth schemes by path, and the
        // REST and HTTP API events of one route would otherwise collide.
        path: route.path.slice(1),
        authorizer: restAuthorizer(route.api, ttl, offline),
      },
    });
    events[route.api.function].push({
      httpApi: { method: route.method, path: route.path, authorizer: { name: route.api.requireDpop ? DPOP_HTTP_AUTHORIZER : 'bearer' } },
    });
  }
  return events;
}

/** The HTTP API's authorizers: `bearer` (cached) always, `dpop` (never cached) when an API requires DPoP. */
function httpApiAuthorizers(table, ttl) {
  const authorizer = (resultTtlInSeconds) => ({
    type: 'request',
    functionName: 'authorizer',
    identitySource: '$request.header.Authorization',
    resultTtlInSeconds,
    // Policy responses, not simple responses: a cached `isAuthorized: true` would open every
    // route to the token, while a cached policy lists exactly the routes it may call.
    enableSimpleResponses: false,
    payloadVersion: '2.0',
  });
  return {
    bearer: authorizer(ttl),
    ...(table.apis.some((api) => api.requireDpop) ? { [DPOP_HTTP_AUTHORIZER]: authorizer(0) } : {}),
  };
}

function dpopReplayTable() {
  const { $comment: _comment, ...properties } = readJson('dpop-replay-table.json');
  return { TableName: '${param:dpopReplayTable}', ...properties };
}

/**
 * The DPoP settings, read by the authorizer's own parser (lib/authorizer/dpop-config.ts) when the
 * stage is packaged, so a mistake fails the package rather than every DPoP request; and the REST
 * API's 401 challenge. API Gateway answers every 401 of a REST API with one gateway response
 * (UNAUTHORIZED), whatever the refusal, and maps no header from the authorizer into it (only
 * request parameters and literals): the challenge is static. With an API that requires DPoP it
 * advertises the DPoP scheme and its algorithms (RFC 9449 §7.1) beside Bearer (§7.2), with
 * error="invalid_token": the gateway cannot tell a bad proof (invalid_dpop_proof) from a bad
 * token, and a client that gets a new token makes a new proof anyway.
 */
function dpop({ env, table, service, stage, offline }) {
  // The table resource, the role's policy and the variable all take this name: none works without it.
  if (env.AUTH_DPOP_REPLAY_TABLE === '') throw new Error(`params.${stage}.dpopReplayTable is empty: the DPoP replay table needs a name (the default is \${self:service}-\${sls:stage}-dpop-replay). To accept proofs on each container's memory when the table cannot be reached, set dpopReplayContainerOnly=true instead.`);
  const { dpopConfig } = require('tsx/cjs/api').require('./lib/authorizer/dpop-config.ts', __filename);
  let config;
  try {
    config = dpopConfig(env);
  } catch (error) {
    const param = { AUTH_DPOP_ON_ALL_ROUTES: 'dpopOnAllRoutes', AUTH_DPOP_ALGORITHMS: 'dpopAlgorithms', AUTH_DPOP_IAT_WINDOW_SECONDS: 'dpopIatWindowSeconds', AUTH_DPOP_PUBLIC_ORIGIN: 'dpopPublicOrigin', AUTH_DPOP_BASE_PATH: 'dpopBasePath', AUTH_DPOP_REPLAY_TABLE: 'dpopReplayTable', AUTH_DPOP_REPLAY_CONTAINER_ONLY: 'dpopReplayContainerOnly', AUTH_DPOP_REPLAY_TIMEOUT_MS: 'dpopReplayTimeoutMs', AUTH_DPOP_REPLAY_CACHE_SIZE: 'dpopReplayCacheSize' }[error.variable];
    throw new Error(`DPoP settings of stage "${stage}"${param === undefined ? '' : ` (params.${stage}.${param})`}: ${error.message}`, { cause: error });
  }
  // The DPoP scheme on every route: only where no route is cached, and every bearer route here is.
  if (config.onAllRoutes && !offline && table.apis.some((api) => !api.requireDpop)) {
    throw new Error(`params.${stage}.dpopOnAllRoutes is true, but the routes of ${table.apis.filter((api) => !api.requireDpop).map((api) => api.name).join(', ')} sit behind the caching authorizer, whose cached allow would stand in for any proof: only serverless offline (which caches nothing) may take DPoP on every route. Set "requireDpop": true on the APIs that take DPoP-bound tokens instead.`);
  }
  const bearer = `Bearer realm="${service}", error="invalid_token"`;
  // Proofs are checked where an API requires DPoP (or on every route, under offline); elsewhere the
  // DPoP scheme is refused before any proof is read, and the authorizer loads no DPoP code.
  const inUse = config.onAllRoutes || table.apis.some((api) => api.requireDpop);
  const challenge = inUse ? `DPoP realm="${service}", algs="${config.algorithms.join(' ')}", error="invalid_token", ${bearer}` : bearer;
  return {
    unauthorizedChallenge: `'${challenge}'`,
    // The replay table (and, locally, dynalite) only where a proof can be checked.
    replayTableEnv: inUse ? env.AUTH_DPOP_REPLAY_TABLE : '',
    replayEndpointEnv: inUse ? env.AUTH_DPOP_REPLAY_ENDPOINT : '',
    // The store's options go with the table: without it the authorizer would refuse them at init.
    replayContainerOnlyEnv: inUse ? env.AUTH_DPOP_REPLAY_CONTAINER_ONLY : '',
    replayTimeoutEnv: inUse ? env.AUTH_DPOP_REPLAY_TIMEOUT_MS : '',
  };
}

function revocationsTable() {
  const { $comment: _comment, ...properties } = readJson('revocations-table.json');
  return { TableName: '${param:revocationsTable}', ...properties };
}

function calendarTable() {
  const { $comment: _comment, ...properties } = readJson('calendar-table.json');
  return { TableName: '${param:calendarTable}', ...properties };
}

const isLoopback = (value) => {
  try {
    return ['localhost', '127.0.0.1', '[::1]'].includes(new URL(value).hostname);
  } catch {
    return false;
  }
};

/**
 * A deployed authorizer needs a real issuer: a stage that packages without one (or with the local
 * stack's loopback issuer, which no Lambda can reach) fails here with the variable named, instead
 * of deploying an authorizer that refuses every token. Only serverless offline (the local stack,
 * which passes its own issuer) may use a loopback one.
 */
function authIssuer({ issuer, issuers, stage }) {
  const offline = process.argv.includes('offline');
  const fix = stage === 'prod'
    ? 'Set PROD_AUTH_ISSUER in the environment (e.g. PROD_AUTH_ISSUER=https://your-tenant.example.com/ npm run deploy -- --stage prod), or pass --param "authIssuer=https://…/" (several issuers: --param "authIssuers=[…]").'
    : `Pass --param "authIssuer=https://your-issuer.example.com/" (several issuers: --param "authIssuers=[…]"), or set params.${stage}.authIssuer in serverless.yml.`;
  if (issuer === '' && issuers === '') throw new Error(`AUTH_ISSUER for stage "${stage}" is not set. ${fix} (npm start runs the local stack with its own issuer.)`);
  if (!offline && issuer !== '' && issuer.split(',').some((item) => isLoopback(item.trim()))) {
    throw new Error(`AUTH_ISSUER for stage "${stage}" is "${issuer}", a loopback address no deployed Lambda can reach: only the local stack (serverless offline) may use it. ${fix}`);
  }
  return issuer;
}

/**
 * Introspection's settings, checked when the stage is packaged rather than at the authorizer's
 * first cold start: a mode it knows, a client, exactly one secret source, and a literal secret only
 * under serverless offline (deployments name it in SSM or Secrets Manager; see serverless.yml).
 */
function introspection({ mode, clientId, secret, ssm, arn, stage }) {
  const offline = process.argv.includes('offline');
  if (!['', 'opaque', 'all'].includes(mode)) throw new Error(`params.${stage}.introspection is "${mode}": use opaque, all, or '' (off)`);
  if (secret !== '' && !offline) {
    throw new Error(`params.${stage}.introspectionClientSecret is set: a literal secret is for the local stack only. Put it in SSM Parameter Store (introspectionClientSecretSsm) or Secrets Manager (introspectionClientSecretArn).`);
  }
  if (mode !== '') {
    if (clientId === '') throw new Error(`params.${stage}.introspection is "${mode}" but introspectionClientId is not set`);
    const sources = [secret, ssm, arn].filter((value) => value !== '').length;
    if (sources !== 1) throw new Error(`params.${stage}.introspection is "${mode}": set exactly one of introspectionClientSecretSsm, introspectionClientSecretArn (or, locally, introspectionClientSecret); ${sources} are set`);
  }
  return { mode, clientSecret: secret };
}

const SSM_NAME = /^[A-Za-z0-9_.\-/]+$/;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]+$/;

/**
 * The authorizer role's policies. The revocations table always (read only), and the DPoP replay
 * table (PutItem only). With introspection's
 * secret named, the one read it needs of it and nothing wider: ssm:GetParameter on the one
 * parameter (a name is made an ARN of this account and region), secretsmanager:GetSecretValue on
 * the one secret (a name matches its ARN's six-character suffix, `name-??????`, as AWS advises; a
 * full ARN is used as it is).
 */
function authorizerPolicies({ ssm, arn, stage }) {
  const policies = [{
    PolicyName: 'revocations-read',
    PolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['dynamodb:Query'], Resource: { 'Fn::GetAtt': ['RevocationsTable', 'Arn'] } }] },
  }, {
    // The conditional PutItem that claims a proof's jti (attribute_not_exists(pk)): no read, no
    // update, no delete (DynamoDB's TTL removes the items), on that table only.
    PolicyName: 'dpop-replay-write',
    PolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['dynamodb:PutItem'], Resource: { 'Fn::GetAtt': ['DpopReplayTable', 'Arn'] } }] },
  }];
  if (ssm !== '') {
    let resource;
    if (ssm.startsWith('arn:')) resource = ssm;
    else if (SSM_NAME.test(ssm)) resource = { 'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/${ssm.replace(/^\//, '')}` };
    else throw new Error(`params.${stage}.introspectionClientSecretSsm is "${ssm}": not an SSM parameter name or ARN`);
    policies.push({
      PolicyName: 'introspection-client-secret',
      PolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ssm:GetParameter'], Resource: resource }] },
    });
  }
  if (arn !== '') {
    let resource;
    if (arn.startsWith('arn:')) resource = arn;
    else if (SECRET_NAME.test(arn)) resource = { 'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${arn}-??????` };
    else throw new Error(`params.${stage}.introspectionClientSecretArn is "${arn}": not a Secrets Manager secret name or ARN`);
    policies.push({
      PolicyName: 'introspection-client-secret',
      PolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: resource }] },
    });
  }
  return policies;
}

// The framework calls this once per reference in serverless.yml, and edits what it is given while
// resolving variables inside it: the table is read once, the parts are built fresh every time.
let routeTable;
module.exports = async ({ resolveVariable }) => {
  const file = await resolveVariable('param:routeTable');
  const stage = await resolveVariable('sls:stage');
  if (routeTable?.file !== file || routeTable.stage !== stage) routeTable = { file, stage, loaded: await loadRouteTable(file, stage) };
  const { path, table } = routeTable.loaded;
  const revocation = revocationOn(await resolveVariable('param:revocation'), stage);
  const ttl = revocation ? TTL_WITH_REVOCATION : TTL_WITHOUT_REVOCATION;
  const issuerParams = {
    issuer: String((await resolveVariable('param:authIssuer')) ?? '').trim(),
    issuers: String((await resolveVariable('param:authIssuers')) ?? '').trim(),
    stage,
  };
  const param = async (name) => String((await resolveVariable(`param:${name}`)) ?? '').trim();
  const secretParams = {
    mode: await param('introspection'), clientId: await param('introspectionClientId'), secret: await param('introspectionClientSecret'),
    ssm: await param('introspectionClientSecretSsm'), arn: await param('introspectionClientSecretArn'), stage,
  };
  const dpopEnv = Object.fromEntries(await Promise.all(Object.entries({
    AUTH_DPOP_ALGORITHMS: 'dpopAlgorithms', AUTH_DPOP_IAT_WINDOW_SECONDS: 'dpopIatWindowSeconds', AUTH_DPOP_PUBLIC_ORIGIN: 'dpopPublicOrigin',
    AUTH_DPOP_BASE_PATH: 'dpopBasePath', AUTH_DPOP_REPLAY_TABLE: 'dpopReplayTable', AUTH_DPOP_REPLAY_ENDPOINT: 'dynamodbEndpoint',
    AUTH_DPOP_REPLAY_CONTAINER_ONLY: 'dpopReplayContainerOnly', AUTH_DPOP_REPLAY_TIMEOUT_MS: 'dpopReplayTimeoutMs', AUTH_DPOP_REPLAY_CACHE_SIZE: 'dpopReplayCacheSize',
    AUTH_DPOP_ON_ALL_ROUTES: 'dpopOnAllRoutes',
  }).map(async ([variable, name]) => [variable, await param(name)])));
  const offline = process.argv.includes('offline');
  const dpopParams = { env: dpopEnv, table, service: String(await resolveVariable('self:service')), stage, offline };
  return {
    events: eventsByFunction(table, ttl, offline), routeTablePath: path, calendarTable: calendarTable(),
    revocationsTable: revocationsTable(),
    dpopReplayTable: dpopReplayTable(),
    httpApiAuthorizers: httpApiAuthorizers(table, ttl),
    authorizerTtl: ttl,
    // The authorizer reads the table only when revocation is on; the table exists either way (idle, it costs nothing).
    revocationsTableEnv: revocation ? '${param:revocationsTable}' : '',
    // A getter: only the reference that asks for the issuer checks it (and fails without one).
    get authIssuer() {
      return authIssuer(issuerParams);
    },
    get introspection() {
      return introspection(secretParams);
    },
    get authorizerPolicies() {
      return authorizerPolicies(secretParams);
    },
    get dpop() {
      return dpop(dpopParams);
    },
  };
};
