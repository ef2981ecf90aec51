/**
 * Keeps a container's RevocationList current with no network on the hot path: one load at cold
 * start, then a Query for what was written since, whenever the list is older than the refresh
 * interval. A request finding the list current (the common case) checks it in memory; one finding
 * it older waits for the refresh, at most the refresh deadline. If the store cannot be reached,
 * the last list serves for at most the maximum staleness; after that requests are refused as a
 * transient failure (revocation_unavailable), or, by the operator's explicit choice, allowed.
 */
import { AuthError } from '../errors.js';
import { sortKeyFloor } from './revocation-entry.js';
import { type RevocableToken, RevocationList } from './revocation-list.js';
import type { RevocationSource } from './revocation-source.js';

export interface RevocationOptions {
  refreshSeconds: number;
  maxStalenessSeconds: number;
  /** Allow instead of refuse once the list is older than maxStalenessSeconds. */
  failOpen: boolean;
  /** The longest a request waits for a refresh (four times as long for the cold-start load). */
  timeoutMs: number;
  /** Tokens live at most this long: subject and client entries older than it are pruned. */
  maxTokenLifetimeSeconds: number;
}

export interface RevocationEvent {
  type: 'revocations_loaded' | 'revocations_refresh_failed' | 'revocations_unreadable';
  detail: string;
}

// Writers' clocks differ: each refresh reads back this far before the last one started, so an
// entry stamped slightly in the past by a writer behind in time is still seen.
const OVERLAP_MS = 60_000;

export class RevocationRefresher {
  readonly list = new RevocationList();
  private readonly source: RevocationSource;
  private readonly options: RevocationOptions;
  private readonly now: () => number;
  private readonly onEvent: ((event: RevocationEvent) => void) | undefined;
  /** When the last successful refresh started (its data is at least that fresh); undefined before the first. */
  private currentAt: number | undefined;
  /** The refresh in flight, and when it started: a flight older than the interval is not joined. */
  private inFlight: { promise: Promise<void>; startedAt: number } | undefined;

  constructor(source: RevocationSource, options: RevocationOptions, dependencies: { now?: () => number; onEvent?: (event: RevocationEvent) => void } = {}) {
    this.source = source;
    this.options = options;
    this.now = dependencies.now ?? Date.now;
    this.onEvent = dependencies.onEvent;
  }

  /** Starts the cold-start load now (at init), so that the first request finds it done or in flight. */
  start(): void {
    this.refresh().catch(() => undefined);
  }

  /**
   * Undefined when the list is current enough to decide on at once; otherwise a promise that
   * settles (never rejects) once a refresh finished or the deadline passed. A list past half its
   * interval is refreshed in the background, so a busy container rarely waits.
   */
  whenCurrent(): Promise<void> | undefined {
    const age = this.currentAt === undefined ? Infinity : this.now() - this.currentAt;
    if (age < this.options.refreshSeconds * 1000) {
      // Nobody awaits it: a throwing event listener must not become an unhandled rejection.
      if (age >= this.options.refreshSeconds * 500) this.refresh().catch(() => undefined);
      return undefined;
    }
    // The cold-start load also loads the SDK and opens a connection: it gets four deadlines (4 s by
    // default, under the authorizer's 5 s timeout), enough for containers starting on a busy host.
    return this.withinDeadline(this.refresh(), this.currentAt === undefined ? this.options.timeoutMs * 4 : this.options.timeoutMs);
  }

  /** Throws token_revoked, or revocation_unavailable when the list is too stale to trust (fail closed). */
  check(token: RevocableToken): void {
    const age = this.currentAt === undefined ? Infinity : this.now() - this.currentAt;
    if (age > this.options.maxStalenessSeconds * 1000 && !this.options.failOpen) {
      throw new AuthError('revocation_unavailable', this.currentAt === undefined
        ? 'the revocation list could not be loaded'
        : `the revocation list is ${Math.round(age / 1000)} s old, more than AUTH_REVOCATION_MAX_STALENESS_SECONDS (${this.options.maxStalenessSeconds})`);
    }
    const reason = this.list.reasonFor(token);
    if (reason !== undefined) throw new AuthError('token_revoked', reason);
  }

  /**
   * Joins the refresh in flight if it started within the interval; otherwise starts one. A flight
   * that started long ago (on Lambda: the last request before an idle spell began it, and the
   * container was frozen with it) would bring back a list as old as its start: never decide on it.
   */
  private refresh(): Promise<void> {
    const now = this.now();
    if (this.inFlight !== undefined && now - this.inFlight.startedAt < this.options.refreshSeconds * 1000) return this.inFlight.promise;
    const promise: Promise<void> = this.load(now).finally(() => {
      if (this.inFlight?.promise === promise) this.inFlight = undefined;
    });
    this.inFlight = { promise, startedAt: now };
    return promise;
  }

  private async load(startedAt: number): Promise<void> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs * 5);
    try {
      const after = this.currentAt === undefined ? undefined : sortKeyFloor(this.currentAt - OVERLAP_MS);
      const { revocations, skipped } = await this.source.entriesAfter(after, controller.signal);
      for (const revocation of revocations) this.list.add(revocation);
      this.list.prune(Math.floor(this.now() / 1000), this.options.maxTokenLifetimeSeconds);
      const first = this.currentAt === undefined;
      // Flights may overlap (see refresh): the list is as fresh as the latest one that succeeded.
      if (this.currentAt === undefined || startedAt > this.currentAt) this.currentAt = startedAt;
      if (skipped > 0) {
        this.onEvent?.({ type: 'revocations_unreadable', detail: `${skipped} item(s) of the table are not revocations this authorizer can read (a damaged or foreign item): they are not enforced` });
      }
      if (first || revocations.length > 0) {
        this.onEvent?.({ type: 'revocations_loaded', detail: `${revocations.length} entr${revocations.length === 1 ? 'y' : 'ies'} read; ${this.list.size} in force` });
      }
    } catch (error) {
      this.onEvent?.({ type: 'revocations_refresh_failed', detail: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    } finally {
      clearTimeout(timer);
    }
  }

  private withinDeadline(work: Promise<void>, timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
  }
}
