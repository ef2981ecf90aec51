/**
 * The whole DPoP check of one request, RFC 9449 §4.3: the proof's own checks (DpopProofVerifier),
 * then, once it is known good, its single use (DpopReplayGuard). Loaded by the handler only when a
 * DPoP request arrives or DPoP is configured.
 */
import { DpopProofVerifier, type ProofExpectations, type ProofRules } from './dpop-proof.js';
import { DpopReplayGuard, type ReplayEvent, type ReplayGuardOptions, replayKey, type ReplayStore } from './replay-guard.js';

export type { ProofExpectations } from './dpop-proof.js';
export type { ReplayEvent } from './replay-guard.js';

export interface DpopOptions extends ProofRules {
  replay: ReplayGuardOptions;
}

export class DpopChecker {
  private readonly verifier: DpopProofVerifier;
  private readonly guard: DpopReplayGuard;
  private readonly options: DpopOptions;

  constructor(options: DpopOptions, store?: ReplayStore, onEvent?: (event: ReplayEvent) => void) {
    this.options = options;
    this.verifier = new DpopProofVerifier(options);
    this.guard = new DpopReplayGuard(options.replay, store, onEvent);
  }

  /** Refuses (throws, or rejects when the store is asked) unless the proof passes every check once. */
  check(proof: string, expected: ProofExpectations): void | Promise<void> {
    const { jti, iat, thumbprint } = this.verifier.verify(proof, expected);
    // Past this, the iat check refuses the proof anyway: the entry need not outlive it.
    const expiresAt = iat + this.options.iatWindowSeconds + this.options.clockToleranceSeconds;
    return this.guard.check(replayKey(thumbprint, jti), expiresAt, expected.now);
  }
}
