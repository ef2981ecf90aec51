import type { APIGatewayAuthorizerResult, PolicyDocument } from 'aws-lambda';
import { accessTo, routePermits } from './access.js';
import { parseBearerToken } from './bearer.js';
import type { AuthorizerConfig } from './config.js';
import { AuthError, type ReasonCode } from '../errors.js';
import { type AuthorizationRequest, normalizeEvent } from './events.js';
import { type ExecuteApiArn, parseExecuteApiArn } from './execute-api-arn.js';
import { authorizerContext, authorizerResult, buildPolicy, ownedCopy, policyDocument } from './policy.js';
import { LruCache } from '../shared/lru-cache.js';
import { findRoute, type Route, type RouteTable } from './route-table.js';
import type { TokenVerifier, VerifiedToken } from '../jwt/token-verifier.js';

export type Outcome = 'allow' | 'deny' | 'unauthorized';

/** One decision, with everything an operator needs to understand it and nothing secret. */
export interface Decision {
  outcome: Outcome;
  reason: ReasonCode | undefined;
  /** Operator-facing detail; never contains the token. */
  detail: string | undefined;
  /** What to return to API Gateway; undefined means throw `Unauthorized` (REST: 401). */
  result: APIGatewayAuthorizerResult | undefined;
  api: AuthorizationRequest['api'] | undefined;
  route: string | undefined;
  sub: string | undefined;
  clientId: string | undefined;
  kid: string | undefined;
  /** Whether the decision cache answered (no signature check was needed). */
  cached: boolean;
}

export interface AuthorizerDependencies {
  config: AuthorizerConfig;
  routes: RouteTable;
  verifier: TokenVerifier;
}

function refusal(
  request: AuthorizationRequest | undefined,
  arn: ExecuteApiArn | undefined,
  error: unknown,
): Decision {
  const reason: ReasonCode = error instanceof AuthError ? error.code : 'internal_error';
  const detail = error instanceof Error ? error.message : String(error);
  // HTTP APIs turn a thrown error into a 500, so they get an explicit deny instead.
  const result = request?.api === 'http' ? buildPolicy('anonymous', arn?.stagePrefix, [], undefined) : undefined;
  return {
    outcome: 'unauthorized', reason, detail, result, api: request?.api,
    route: arn ? `${arn.method} ${arn.path}` : undefined, sub: undefined, clientId: undefined, kid: undefined, cached: false,
  };
}

/** Requests remembered per methodArn (parsed ARN, matched route); bounded, as paths carry ids. */
export const TARGET_MEMO_SIZE = 256;
/** Policy documents remembered per stage, and per stage per set of permitted routes. */
export const STAGE_MEMO_SIZE = 64;
export const DOCUMENT_MEMO_SIZE = 64;

/** What a methodArn names: parsed and matched against the route table once, then remembered. */
interface Target {
  arn: ExecuteApiArn;
  route: Route | undefined;
  /** The decision's `route` field. */
  label: string;
}

/** What a token may call; `key` names the permitted routes by their index in the table. */
interface Permissions {
  /** Whether any API of the table has one of the token's audiences. */
  served: boolean;
  permitted: Route[];
  key: string;
}

/**
 * Builds the decision function once per container. Every failure path, expected or not, ends
 * in a refusal: nothing here can turn an exception into an allow.
 */
export function createAuthorizer({ config, routes, verifier }: AuthorizerDependencies) {
  // A methodArn is parsed and matched once: its parse and route never change. Only a valid ARN is
  // remembered (an invalid one throws before), and the memo is bounded: a flood of distinct paths
  // only costs the parse it would have cost anyway.
  const targets = new LruCache<string, Target>(TARGET_MEMO_SIZE);
  const targetOf = (methodArn: string): Target => {
    let target = targets.get(methodArn);
    if (target === undefined) {
      const arn = Object.freeze(parseExecuteApiArn(methodArn));
      const route = findRoute(routes, arn.method, arn.path);
      target = Object.freeze({ arn, route, label: `${arn.method} ${route?.path ?? arn.path}` });
      targets.set(methodArn, target);
    }
    return target;
  };

  // The policy document depends only on the stage and the set of permitted routes: tokens that may
  // call the same routes share it. A token the verifier remembers (the same object back from its
  // decision cache) also keeps its permitted routes and its results per stage.
  const documents = new LruCache<string, LruCache<string, PolicyDocument>>(STAGE_MEMO_SIZE);
  const documentFor = (stagePrefix: string, { permitted, key }: Permissions): PolicyDocument => {
    let byRoutes = documents.get(stagePrefix);
    if (byRoutes === undefined) documents.set(stagePrefix, (byRoutes = new LruCache(DOCUMENT_MEMO_SIZE)));
    let document = byRoutes.get(key);
    if (document === undefined) byRoutes.set(key, (document = policyDocument(stagePrefix, permitted)));
    return document;
  };
  // Only the APIs of the token's audiences are looked at, so a large table costs a request no more
  // than its own API's routes. The table lists routes API by API, so the order is the table's.
  const routeIndex = new Map(routes.routes.map((route, index) => [route, index]));
  const permissionsOf = (claims: VerifiedToken['claims']): Permissions => {
    const permitted: Route[] = [];
    let key = '';
    let served = false;
    for (const api of routes.apis) {
      if (!claims.audiences.includes(api.audience)) continue;
      served = true;
      for (const route of api.routes) {
        if (!routePermits(route, claims)) continue;
        permitted.push(route);
        key += `${routeIndex.get(route)!},`;
      }
    }
    return { served, permitted, key };
  };
  // Only worth keeping when the verifier can hand the same token object back.
  const remembers = config.decisionCacheSize > 0;
  const perToken = new WeakMap<VerifiedToken, { permissions: Permissions; results: Map<string, APIGatewayAuthorizerResult> }>();
  const resultFor = (verified: VerifiedToken, stagePrefix: string): { permitted: Route[]; result: APIGatewayAuthorizerResult } => {
    let derived = perToken.get(verified);
    if (derived === undefined) {
      derived = { permissions: permissionsOf(verified.claims), results: new Map() };
      if (remembers) perToken.set(verified, derived);
    }
    const { permissions, results } = derived;
    if (!permissions.served) throw new AuthError('audience_mismatch', `"aud" names no API this gateway serves`);
    let result = results.get(stagePrefix);
    if (result === undefined) {
      result = authorizerResult(verified.claims.subject, documentFor(stagePrefix, permissions), authorizerContext(verified.claims));
      if (remembers) results.set(stagePrefix, result);
    }
    return { permitted: permissions.permitted, result };
  };

  const decide = (request: AuthorizationRequest, target: Target, verified: VerifiedToken, cached: boolean): Decision => {
    try {
      const { claims, kid } = verified;
      const { permitted, result: policy } = resultFor(verified, target.arn.stagePrefix);
      const access = accessTo(target.route, claims, permitted);
      return {
        outcome: access.allowed ? 'allow' : 'deny',
        reason: access.reason,
        detail: undefined,
        // A deep copy: the caller owns what it gets (serverless offline, for one, rewrites `context`).
        result: ownedCopy(policy),
        api: request.api,
        route: target.label,
        sub: claims.subject,
        clientId: claims.clientId,
        kid,
        cached,
      };
    } catch (error) {
      return refusal(request, target.arn, error);
    }
  };

  /**
   * A decision, or a promise of one when the issuer's keys must be fetched first. Synchronous
   * otherwise (a known key, or a remembered token): no promise is made where nothing is awaited.
   */
  function authorize(event: unknown): Decision | Promise<Decision> {
    let request: AuthorizationRequest | undefined;
    let arn: ExecuteApiArn | undefined;
    try {
      request = normalizeEvent(event);
      const target = targetOf(request.arn);
      arn = target.arn;
      const token = parseBearerToken(request.authorization, config.maxTokenBytes);
      const hitsBefore = verifier.cacheHits;
      const verified = verifier.verifyNow(token);
      if (!(verified instanceof Promise)) return decide(request, target, verified, verifier.cacheHits !== hitsBefore);
      const knownRequest = request;
      return verified.then(
        // A hit is always answered at once: an awaited verification is never one (and the shared
        // counter may have moved meanwhile for other requests).
        (value) => decide(knownRequest, target, value, false),
        (error: unknown) => refusal(knownRequest, target.arn, error),
      );
    } catch (error) {
      return refusal(request, arn, error);
    }
  }
  /** How many entries the memos hold, for tests: each is bounded. */
  authorize.memoSizes = () => ({
    targets: targets.size,
    stages: documents.size,
    documents: [...documents.keys()].reduce((sum, stage) => sum + documents.peek(stage)!.size, 0),
  });
  return authorize;
}
