// Restart invariance against the real API server (issue 7 §1): 50 times, a few random Service
// creates and deletes, then SIGKILL the controller and start a new one. After each restart's
// first full pass: no Service was written (metallb_k8s_client_updates_total stays 0 and no
// resourceVersion moved), every IP is where it was, and no IP is held twice outside sharing.
// Between restarts the running controller must not touch Services it did not have to either.
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { apply, createNamespace, deleteNamespace, kubectl, kubectlJson, lbService, resetConfig, startController, waitFor, type RunningController } from './harness.js';

const NS = `ironlb-restart-${process.pid}`;
const RESTARTS = 50;
const SEED = 4242;

function rng(seed: number): { int(n: number): number; chance(p: number): boolean } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { int: (n) => Math.floor(next() * n), chance: (p) => next() < p };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/** A counter of the controller's /metrics (0 when the series is absent). */
async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

interface Seen {
  rv: string;
  ips: string[];
  share: string;
  port: number;
}

function snapshot(): Map<string, Seen> {
  const out = new Map<string, Seen>();
  for (const s of kubectlJson<any>(['-n', NS, 'get', 'svc']).items as any[]) {
    out.set(s.metadata.name, {
      rv: s.metadata.resourceVersion,
      ips: ((s.status?.loadBalancer?.ingress ?? []) as { ip: string }[]).map((i) => i.ip),
      share: s.metadata.annotations?.['metallb.io/allow-shared-ip'] ?? '',
      port: s.spec.ports[0].port,
    });
  }
  return out;
}

/** IPs held by more than one Service without one sharing key and distinct ports. */
function duplicates(seen: Map<string, Seen>): string[] {
  const byIp = new Map<string, [string, Seen][]>();
  for (const e of seen) for (const ip of e[1].ips) byIp.set(ip, [...(byIp.get(ip) ?? []), e]);
  return [...byIp].filter(([, hs]) => {
    if (hs.length < 2) return false;
    const keys = new Set(hs.map(([, s]) => s.share));
    return keys.size !== 1 || keys.has('') || new Set(hs.map(([, s]) => s.port)).size !== hs.length;
  }).map(([ip, hs]) => `${ip}: ${hs.map(([n]) => n).join(', ')}`);
}

describe('controller restart invariance (real API server)', () => {
  let ctl: RunningController | undefined;

  beforeAll(() => {
    resetConfig();
    createNamespace(NS);
    apply(`apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: restart-auto
  namespace: metallb-system
spec:
  addresses: [198.51.100.0/25]
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: restart-fixed
  namespace: metallb-system
spec:
  addresses: [198.51.100.128/25]
  autoAssign: false
`);
  });

  afterAll(async () => {
    await ctl?.stop();
    deleteNamespace(NS);
    resetConfig();
  });

  test(`${RESTARTS} SIGKILL restarts with random creates and deletes between them: no write, no IP change, no duplicate`, async () => {
    const r = rng(SEED);
    const port = await freePort();
    const start = () => startController(['--metrics-port', String(port), '--metrics-host', '127.0.0.1']);
    ctl = start();
    let nextId = 0;
    const live = new Set<string>();
    const requested = new Map<string, string>(); // name -> requested IP (from restart-fixed)
    let previous: Map<string, Seen> | undefined;
    let carried = 0;
    let sharedRounds = 0;
    for (let round = 1; round <= RESTARTS; round++) {
      // Random operations against the running controller.
      const creates = live.size < 8 ? 2 + r.int(3) : r.int(4);
      const docs: string[] = [];
      for (let k = 0; k < creates; k++) {
        const id = nextId++;
        const name = `s-${id}`;
        const annotations: Record<string, string> = {};
        if (r.chance(0.25)) annotations['metallb.io/allow-shared-ip'] = `key-${r.int(3)}`;
        else if (r.chance(0.15)) {
          const taken = new Set(requested.values());
          let ip = '';
          for (let last = 128 + r.int(100); !ip || taken.has(ip); last++) ip = `198.51.100.${last}`;
          annotations['metallb.io/loadBalancerIPs'] = ip;
          requested.set(name, ip);
        }
        docs.push(lbService(name, { annotations, ports: [{ port: 2000 + id }] }));
        live.add(name);
      }
      if (docs.length) apply(docs.join('---\n'), NS);
      const deletes = live.size > 25 ? 2 + r.int(3) : r.int(3);
      const victims = [...live].filter(() => r.chance(0.5)).slice(0, deletes);
      if (victims.length) kubectl(['-n', NS, 'delete', 'svc', ...victims, '--wait=true']);
      for (const v of victims) {
        live.delete(v);
        requested.delete(v);
      }
      const beforeKill = await waitFor(`round ${round}: every Service has its IP`, () => {
        const s = snapshot();
        return s.size === live.size && [...s.values()].every((v) => v.ips.length === 1) ? s : undefined;
      }, 30_000);
      // Services the operations did not touch kept their objects while the controller ran.
      if (previous) {
        for (const [name, was] of previous) {
          const now = beforeKill.get(name);
          if (now) expect(`${name} ${now.rv} ${now.ips.join(',')}`, `round ${round}: running controller rewrote ${name}`).toBe(`${name} ${was.rv} ${was.ips.join(',')}`);
        }
      }
      for (const [name, ip] of requested) expect(beforeKill.get(name)?.ips, `round ${round}: ${name} requested ${ip}`).toEqual([ip]);
      expect(duplicates(beforeKill), `round ${round}`).toEqual([]);

      // SIGKILL and start again; wait for the first full pass and let any stray write land.
      await ctl.stop();
      ctl = start();
      const current = ctl;
      await waitFor(`round ${round}: initial full pass`, () => current.logText().includes('initial full pass done'), 30_000);
      await new Promise((res) => setTimeout(res, 300));
      expect(await metric(port, 'metallb_k8s_client_updates_total'), `round ${round}: Service writes after restart`).toBe(0);
      expect(await metric(port, 'metallb_k8s_client_update_errors_total'), `round ${round}: failed writes after restart`).toBe(0);
      const afterRestart = snapshot();
      const moved = [...beforeKill].filter(([name, was]) => afterRestart.get(name)?.rv !== was.rv || afterRestart.get(name)?.ips.join(',') !== was.ips.join(','))
        .map(([name, was]) => `${name}: ${was.ips.join(',')}@${was.rv} -> ${afterRestart.get(name)?.ips.join(',')}@${afterRestart.get(name)?.rv}`);
      expect(moved, `round ${round}: restart changed Services`).toEqual([]);
      expect(duplicates(afterRestart), `round ${round}`).toEqual([]);
      carried += afterRestart.size;
      const ips = [...afterRestart.values()].map((v) => v.ips[0]);
      if (new Set(ips).size < ips.length) sharedRounds++;
      previous = afterRestart;
    }
    // The run carried a real population across the restarts, some of it shared.
    expect(carried).toBeGreaterThan(RESTARTS * 8);
    expect(sharedRounds, 'rounds in which some IP was shared').toBeGreaterThan(0);
    // The controller counted writes at all (the metric is live, so the zeros above mean something).
    apply(lbService('s-last', { ports: [{ port: 1999 }] }), NS);
    await waitFor('a write is counted', async () => (await metric(port, 'metallb_k8s_client_updates_total')) > 0 || undefined, 15_000);
  }, 200_000);
});
