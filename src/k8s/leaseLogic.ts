// Leader election on a coordination.k8s.io/v1 Lease, the pure part: given what the Lease holds
// and what this candidate has observed, what to write (or to wait). Same rules as client-go's
// leaderelection package: a candidate judges expiry on its OWN clock, from the moment it last
// saw the record change (never from renewTime, which another machine's clock wrote), and every
// write is an update checked against the resourceVersion read, so two candidates can never both
// win one round.

export interface LeaseRecord {
  readonly holderIdentity?: string;
  readonly leaseDurationSeconds?: number;
  readonly acquireTime?: string;
  readonly renewTime?: string;
  readonly leaseTransitions?: number;
}

export interface LeaseTiming {
  /** How long a standby waits after the last observed change before taking over. */
  readonly leaseDurationMs: number;
  /** A leader that could not renew for this long stops acting as leader (must be < lease duration). */
  readonly renewDeadlineMs: number;
  /** Interval between attempts to acquire or renew. */
  readonly retryPeriodMs: number;
}

/** client-go defaults (kube-controller-manager, controller-runtime): 15 s / 10 s / 2 s. */
export const DEFAULT_LEASE_TIMING: LeaseTiming = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

export function checkLeaseTiming(t: LeaseTiming): string | undefined {
  if (!(t.retryPeriodMs > 0)) return 'the retry period must be positive';
  if (!(t.renewDeadlineMs > t.retryPeriodMs)) return 'the renew deadline must be longer than the retry period (a leader needs more than one attempt)';
  if (!(t.leaseDurationMs > t.renewDeadlineMs)) return 'the lease duration must be longer than the renew deadline (otherwise a standby can take over while the leader still acts)';
  return undefined;
}

/** What one candidate remembers between rounds. */
export interface CandidateState {
  readonly observedRecord?: LeaseRecord;
  /** Local clock (ms) when observedRecord was first seen. */
  readonly observedAtMs: number;
}

export const INITIAL_CANDIDATE_STATE: CandidateState = { observedAtMs: 0 };

export type LeaseStep =
  /** No Lease yet: create it holding it. */
  | { readonly action: 'create'; readonly record: LeaseRecord }
  /** Write this record with the resourceVersion that was read (acquire or renew). */
  | { readonly action: 'update'; readonly record: LeaseRecord }
  /** Someone else holds an unexpired lease. */
  | { readonly action: 'wait'; readonly holder: string };

/** Lease times are MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function sameRecord(a: LeaseRecord | undefined, b: LeaseRecord | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/**
 * One round of try-acquire-or-renew. `current` is the Lease's spec as read (undefined: no
 * Lease). Returns the step and the candidate's new state.
 */
export function leaseStep(
  current: LeaseRecord | undefined, identity: string, state: CandidateState, nowMs: number, timing: LeaseTiming,
): { step: LeaseStep; state: CandidateState } {
  const durationSeconds = Math.ceil(timing.leaseDurationMs / 1000);
  const now = microTime(nowMs);
  if (current === undefined) {
    const record = { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 };
    return { step: { action: 'create', record }, state: { observedRecord: undefined, observedAtMs: nowMs } };
  }
  const observed: CandidateState = sameRecord(current, state.observedRecord) ? state : { observedRecord: current, observedAtMs: nowMs };
  const holder = current.holderIdentity ?? '';
  // The holder's own duration decides, as written in the Lease (a leader may run other timings).
  const heldForMs = (current.leaseDurationSeconds ?? durationSeconds) * 1000;
  if (holder !== '' && holder !== identity && observed.observedAtMs + heldForMs > nowMs) {
    return { step: { action: 'wait', holder }, state: observed };
  }
  const mine = holder === identity;
  const record: LeaseRecord = {
    holderIdentity: identity,
    leaseDurationSeconds: durationSeconds,
    acquireTime: mine && current.acquireTime ? current.acquireTime : now,
    renewTime: now,
    leaseTransitions: (current.leaseTransitions ?? 0) + (mine ? 0 : 1),
  };
  return { step: { action: 'update', record }, state: observed };
}

/** After a successful write the candidate has observed its own record, now. */
export function afterWrite(record: LeaseRecord, nowMs: number): CandidateState {
  return { observedRecord: record, observedAtMs: nowMs };
}

/** A leader that has not renewed within the deadline must stop acting as leader. */
export function renewDeadlinePassed(lastRenewMs: number, nowMs: number, timing: LeaseTiming): boolean {
  return nowMs - lastRenewMs >= timing.renewDeadlineMs;
}

/**
 * Giving the lease up on a clean shutdown (client-go ReleaseOnCancel): no holder and a 1 s
 * duration, so a standby takes over at its next retry instead of waiting the full duration.
 * Undefined when `identity` does not hold it (nothing to release).
 */
export function releasedRecord(current: LeaseRecord | undefined, identity: string, nowMs: number): LeaseRecord | undefined {
  if (!current || current.holderIdentity !== identity) return undefined;
  const now = microTime(nowMs);
  return { ...current, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now };
}
