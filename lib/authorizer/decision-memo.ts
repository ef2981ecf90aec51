/**
 * What the authorizer remembers between requests besides verified tokens: every part of a decision
 * that depends only on something seen before. Each memo is bounded, so a flood of distinct paths,
 * stages or scope sets costs only the work it would have cost anyway.
 */
import type { PolicyDocument } from 'aws-lambda';
import type { Verification, VerifiedToken } from '../jwt/token-verifier.js';
import { LruCache } from '../shared/lru-cache.js';
import { permissionsOf, type Permissions } from './access.js';
import { type ExecuteApiArn, parseExecuteApiArn } from './execute-api-arn.js';
import { type AuthorizerContext, authorizerContext, policyDocument } from './policy.js';
import { findRoute, type Route, type RouteTable } from './route-table.js';

// Exported for the tests that hold each memo to its bound.
/** Requests remembered per methodArn (parsed ARN, matched route); bounded, as paths carry ids. */
export const TARGET_MEMO_SIZE = 256;
/** Policy documents remembered per stage, and per stage per set of permitted routes. */
export const STAGE_MEMO_SIZE = 64;
export const DOCUMENT_MEMO_SIZE = 64;

/** What a methodArn names: parsed and matched against the route table once. */
export interface Target {
  arn: ExecuteApiArn;
  route: Route | undefined;
  /** The decision's `route` field. */
  label: string;
}

/** What is derived from a token's claims alone, whatever it is used for. */
export interface TokenGrant {
  permissions: Permissions;
  context: AuthorizerContext;
}

export class DecisionMemo {
  private readonly routes: RouteTable;
  /** Only a valid ARN is remembered: an invalid one throws before. */
  private readonly targets = new LruCache<string, Target>(TARGET_MEMO_SIZE);
  /** Stage prefix → permitted-routes key → document; tokens that may call the same routes share one. */
  private readonly documents = new LruCache<string, LruCache<string, PolicyDocument>>(STAGE_MEMO_SIZE);
  /**
   * Per verified token: the grant derived from its claims. Weak, so an entry lives exactly as long
   * as the verifier keeps the token (its decision cache); a token it does not keep is collected.
   */
  private readonly grants = new WeakMap<VerifiedToken, TokenGrant>();

  constructor(routes: RouteTable) {
    this.routes = routes;
  }

  /** The parsed ARN and its route; throws event_invalid for an ARN that cannot be read. */
  target(methodArn: string): Target {
    let target = this.targets.get(methodArn);
    if (target === undefined) {
      const arn = Object.freeze(parseExecuteApiArn(methodArn));
      const route = findRoute(this.routes, arn.method, arn.path);
      target = Object.freeze({ arn, route, label: `${arn.method} ${route?.path ?? arn.path}` });
      this.targets.set(methodArn, target);
    }
    return target;
  }

  /**
   * The grant of a verified token. Only a verification the decision cache answered can be the
   * same token object again, so only then is a remembered grant looked up; a fresh one is derived
   * and kept for the token's next hit.
   */
  grant({ verified, cached }: Verification): TokenGrant {
    if (cached) {
      const known = this.grants.get(verified);
      if (known !== undefined) return known;
    }
    const grant = { permissions: permissionsOf(this.routes, verified.claims), context: authorizerContext(verified.claims) };
    this.grants.set(verified, grant);
    return grant;
  }

  /** The policy document for the permitted routes in one stage, shared by every token with the same. */
  document(stagePrefix: string, { permitted, key }: Permissions): PolicyDocument {
    let byRoutes = this.documents.get(stagePrefix);
    if (byRoutes === undefined) this.documents.set(stagePrefix, (byRoutes = new LruCache(DOCUMENT_MEMO_SIZE)));
    let document = byRoutes.get(key);
    if (document === undefined) byRoutes.set(key, (document = policyDocument(stagePrefix, permitted)));
    return document;
  }

  /** @internal How many entries each memo holds, for tests: each is bounded. */
  sizes(): { targets: number; stages: number; documents: number } {
    let documents = 0;
    for (const stage of this.documents.keys()) documents += this.documents.peek(stage)!.size;
    return { targets: this.targets.size, stages: this.documents.size, documents };
  }
}
