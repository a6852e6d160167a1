// The observers and the judgement of test/e2e/chaos.test.ts: the passive capture in the switch
// namespace and the client loop (both test/e2e/fixtures/chaos.mjs, started in their namespaces),
// and the pure checks over what they recorded. Times are CLOCK_MONOTONIC in ms (nowMs()).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'chaos.mjs');

export const nowMs = (): number => Number(process.hrtime.bigint() / 1000n) / 1000;

/** One frame a node sent that makes a neighbour believe `mac` has `ip`. */
export interface Answer {
  readonly ip: string;
  readonly kind: string;
  readonly mac: string;
  readonly port: string;
  readonly t: number;
}

export interface Request {
  readonly ip: string;
  readonly t0: number;
  readonly t1: number;
  readonly ok: boolean;
  readonly node: string | null;
  readonly error?: string;
}

/** A fixture process in a namespace, its JSON lines collected. */
export class Observer<T> {
  readonly records: T[] = [];
  readonly errors: string[] = [];
  readonly #child: ChildProcess;
  readonly #ready: Promise<void>;

  constructor(namespace: string, args: string[]) {
    this.#child = spawn('ip', ['netns', 'exec', namespace, process.execPath, FIXTURE, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    this.#child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    this.#ready = new Promise((resolve, reject) => {
      this.#child.on('exit', (code) => reject(new Error(`chaos.mjs ${args[0]} exited (${code}): ${stderr.trim()}`)));
      createInterface({ input: this.#child.stdout! }).on('line', (line) => {
        const o = JSON.parse(line) as { ready?: boolean; observerError?: string };
        if (o.ready) resolve();
        else if (o.observerError) this.errors.push(o.observerError);
        else this.records.push(o as T);
      });
    });
    this.#ready.catch(() => {});
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  /** Closes stdin (the fixture exits and closes its sockets); SIGKILL if it lingers. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.#child.once('exit', () => r()));
    this.#child.stdin!.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }
}

export function startCapture(switchNamespace: string, ports: readonly string[], ips: readonly string[]): Observer<Answer> {
  return new Observer<Answer>(switchNamespace, ['capture', ports.join(','), ips.join(',')]);
}

export function startClient(clientNamespace: string, ips: readonly string[], everyMs: number, timeoutMs: number): Observer<Request> {
  return new Observer<Request>(clientNamespace, ['client', ips.join(','), String(everyMs), String(timeoutMs)]);
}

/** Two MACs answering for one IP at the same time for longer than allowed. */
export interface DualAnswer {
  readonly ip: string;
  /** The last answer of the MAC that answered first in the overlap, and the first of the other. */
  readonly first: Answer;
  readonly second: Answer;
  /** How long both MACs were answering. */
  readonly overlapMs: number;
}

/**
 * Gratuitous bursts come every 1.1 s while a node announces, so answers of one MAC less than this
 * far apart belong to one period of answering.
 */
export const ANSWERING_GAP_MS = 1_300;

/**
 * The invariant of issue 7 (peers.md section 8): no IP answered by two MACs for more than
 * `maxOverlapMs`. Each MAC's answers form periods (answers closer than ANSWERING_GAP_MS); two
 * MACs' periods for one IP may overlap by at most `maxOverlapMs` (a hand-over where the old owner's
 * last burst leaves 50 ms after the new owner's first is fine; split-brain answering is not).
 */
export function dualAnswers(answers: readonly Answer[], maxOverlapMs: number): DualAnswer[] {
  const periods = new Map<string, { mac: string; from: Answer; to: Answer }[]>();
  const byIpMac = new Map<string, Answer[]>();
  for (const a of answers) {
    const key = `${a.ip}|${a.mac}`;
    const list = byIpMac.get(key) ?? [];
    list.push(a);
    byIpMac.set(key, list);
  }
  for (const list of byIpMac.values()) {
    list.sort((x, y) => x.t - y.t);
    const ip = list[0]!.ip;
    const mine = periods.get(ip) ?? [];
    let from = list[0]!;
    let to = from;
    for (const a of list.slice(1)) {
      if (a.t - to.t > ANSWERING_GAP_MS) {
        mine.push({ mac: from.mac, from, to });
        from = a;
      }
      to = a;
    }
    mine.push({ mac: from.mac, from, to });
    periods.set(ip, mine);
  }
  const found: DualAnswer[] = [];
  for (const [ip, list] of periods) {
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i]!;
        const b = list[j]!;
        if (a.mac === b.mac) continue;
        const start = Math.max(a.from.t, b.from.t);
        const end = Math.min(a.to.t, b.to.t);
        if (end - start <= maxOverlapMs) continue;
        const [earlier, later] = a.from.t <= b.from.t ? [a, b] : [b, a];
        found.push({ ip, first: earlier.to, second: later.from, overlapMs: end - start });
      }
    }
  }
  return found;
}

export interface Recovery {
  /** Requests started in the window. */
  readonly requests: number;
  readonly failures: number;
  /**
   * The longest time the VIP did not serve: from the last success before a run of failed requests
   * (or the window's start) to the first success after it. 0 without failures; null: the window
   * ended in failures (never recovered). A lone timeout between successes is a short outage, not
   * an unrecovered fault.
   */
  readonly recoveryMs: number | null;
}

/** How the requests for `ip` started in [from, to) fared (by start time). */
export function recovery(requests: readonly Request[], ip: string, from: number, to: number): Recovery {
  const mine = requests.filter((r) => r.ip === ip && r.t0 >= from && r.t0 < to).sort((a, b) => a.t0 - b.t0);
  const failures = mine.filter((r) => !r.ok).length;
  if (failures === 0) return { requests: mine.length, failures, recoveryMs: 0 };
  let longest = 0;
  let lastSuccess = from;
  let inOutage = false;
  for (const r of mine) {
    if (!r.ok) {
      inOutage = true;
      continue;
    }
    if (inOutage) longest = Math.max(longest, r.t0 - lastSuccess);
    inOutage = false;
    lastSuccess = r.t0;
  }
  return { requests: mine.length, failures, recoveryMs: inOutage ? null : longest };
}

/** The same seed replays the same fault order and choices (one PRNG for the project's seeded runs). */
export { seededRandom } from '../../src/speaker/membership/simulatedCluster.js';
