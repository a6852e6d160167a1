// Chaos in the lab (issue 7 §1, peers.md §6/§8.3, kube-vip's fault suite as the model): 3 real
// node namespaces with `ironlb speaker`, the real controller and API server, five LoadBalancer
// Services (IPv4/IPv6, Cluster/Local) served while faults run in a seeded random order. A passive
// capture on the switch ports records every ARP reply / gratuitous ARP / NA for each VIP, a
// client loop requests every VIP every ~75 ms; afterwards: no VIP answered by two MACs within
// 200 ms, every fault recovered within 1.5 s (after the fault is undone where it makes the VIP
// unservable), no withdrawal during the API server outage, the same IPs and one ServiceL2Status
// per Service at the end. Replay a run with CHAOS_SEED=<seed printed at the start>.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { kubectl as labKubectl, labDown, labUp, readLabState, restartLabProcess, type LabState } from '../../src/lab/lab.js';
import { runIn } from '../../src/lab/network.js';
import { agnhostDeployment, loadBalancerService } from '../../src/lab/workloads.js';
import { sleep } from '../../src/lab/processes.js';
import { waitFor } from './harness.js';
import { dualAnswers, nowMs, recovery, seededRandom, startCapture, startClient, type Answer, type Observer, type Request } from './chaosCapture.js';

const SEED = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const random = seededRandom(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const between = (lo: number, hi: number) => Math.round(lo + random() * (hi - lo));

const DUAL_WINDOW_MS = 200;
const RECOVERY_MS = 1500;
/** Faults stop being started after this much time, so the run stays bounded (apiserver outage alone is 60 s). */
const FAULT_BUDGET_MS = 240_000;
const API_OUTAGE_MS = Number(process.env.CHAOS_API_OUTAGE_MS ?? 60_000);

const parent = mkdtempSync(join(tmpdir(), `ironlb-chaos-${process.pid}-`));
const dir = join(parent, 'lab');
let lab: LabState;
const k = (args: string[], input?: string) => labKubectl(lab, args, input);
const json = (args: string[]) => JSON.parse(k([...args, '-o', 'json']));
const log = (line: string) => process.stderr.write(`[chaos] ${line}\n`);

interface Svc { name: string; app: string; family: 'IPv4' | 'IPv6'; local: boolean; port: number }
const SERVICES: Svc[] = [
  { name: 'web4', app: 'web', family: 'IPv4', local: false, port: 8080 },
  { name: 'web6', app: 'web', family: 'IPv6', local: false, port: 8080 },
  { name: 'loc4', app: 'loc', family: 'IPv4', local: true, port: 8081 },
  { name: 'loc6', app: 'loc', family: 'IPv6', local: true, port: 8081 },
  { name: 'flap4', app: 'flap', family: 'IPv4', local: false, port: 8082 },
];

type FaultKind = 'kill-owner-speaker' | 'kill-other-speaker' | 'pause-short' | 'pause-long' | 'link-down' | 'controller-kill' | 'api-outage' | 'partition' | 'scale-flap' | 'delete-local-pod';
const PLAN: [FaultKind, number][] = [
  ['kill-owner-speaker', 2], ['kill-other-speaker', 2], ['pause-short', 3], ['pause-long', 2], ['link-down', 2],
  ['controller-kill', 2], ['api-outage', 1], ['partition', 2], ['scale-flap', 2], ['delete-local-pod', 2],
];

interface FaultRecord {
  kind: FaultKind;
  detail: string;
  t0: number;
  /** When the fault was undone (restart, SIGCONT, link up, scale up with ready endpoints). */
  tUndo?: number;
  tEnd: number;
  /** VIPs the fault legitimately makes unservable until undone. */
  unservable: string[];
  /**
   * VIPs the fault leaves servable only in part: a Cluster Service balances connections over all
   * its pods, and while a node's link is down its pod stays an endpoint (the lab has no node
   * lifecycle controller; a real cluster keeps it ~40 s until the Node is NotReady). The VIP must
   * answer again within the recovery time (a request succeeds); connections balanced to the cut-off
   * pod fail whatever ironlb does.
   */
  partlyServable: string[];
  /** VIPs whose owner must not change (short pause, API outage), with the owner's MAC. */
  keepOwner: Record<string, string>;
  problems: string[];
}

const vips = new Map<string, string>(); // service -> IP
const ipsAtStart = new Map<string, string>();
let capture: Observer<Answer> | undefined;
let client: Observer<Request> | undefined;
const faults: FaultRecord[] = [];

const macOf = (node: string) => lab.network!.nodes.find((n) => n.name === node)!.mac;
const nsOf = (node: string) => lab.network!.nodes.find((n) => n.name === node)!.namespace;
const nodes = () => lab.network!.nodes.map((n) => n.name);
const processOf = (name: string) => readLabState(dir)!.processes.find((p) => p.name === name)!;

function l2Statuses(): { service: string; node: string }[] {
  return (json(['-n', 'metallb-system', 'get', 'servicel2statuses']).items as any[]).map((i) => ({ service: i.status?.serviceName, node: i.status?.node }));
}

function owners(): Map<string, string> {
  const m = new Map<string, string>();
  for (const s of l2Statuses()) if (s.service) m.set(s.service, s.node);
  return m;
}

function ingress(name: string): string | undefined {
  return (json(['-n', 'default', 'get', 'svc', name]).status?.loadBalancer?.ingress ?? [])[0]?.ip;
}

function withdrawLines(): number {
  return nodes().map((n) => readFileSync(join(dir, 'logs', `speaker-${n}.log`), 'utf8').split('\n').filter((l) => l.includes('"withdrawing"')).length).reduce((a, b) => a + b, 0);
}

const deployment = (name: string, replicas: number, port: number) => agnhostDeployment(name, { replicas, port });
const service = (s: Svc) => loadBalancerService(s.name, { app: s.app, targetPort: s.port, family: s.family, ...(s.local ? { local: true } : {}) });

function readyPods(app: string): any[] {
  return (json(['-n', 'default', 'get', 'pods', '-l', `app=${app}`]).items as any[]).filter((p) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
}

function readyEndpoints(svc: string): number {
  const slices = json(['-n', 'default', 'get', 'endpointslices', '-l', `kubernetes.io/service-name=${svc}`]).items as any[];
  return slices.flatMap((s) => s.endpoints ?? []).filter((e: any) => e.conditions?.ready !== false).length;
}

/** All VIPs answered well for the last second, and one ServiceL2Status per Service. */
async function settle(timeoutMs = 25_000): Promise<boolean> {
  try {
    await waitFor('every VIP answers for 1 s', () => {
      const t = nowMs();
      const recent = client!.records.filter((r) => r.t0 > t - 2000 && r.t1 <= t);
      const ok = [...vips.values()].every((ip) => {
        const mine = recent.filter((r) => r.ip === ip);
        return mine.length >= 5 && mine.every((r) => r.ok);
      });
      if (!ok) return undefined;
      const st = l2Statuses();
      return SERVICES.every((s) => st.filter((x) => x.service === s.name).length === 1) || undefined;
    }, timeoutMs);
    return true;
  } catch {
    return false;
  }
}

function randomVipService(filter: (s: Svc) => boolean = () => true): Svc {
  return pick(SERVICES.filter(filter));
}

async function runFault(kind: FaultKind): Promise<FaultRecord> {
  const own = owners();
  const f: FaultRecord = { kind, detail: '', t0: 0, tEnd: 0, unservable: [], partlyServable: [], keepOwner: {}, problems: [] };
  switch (kind) {
    case 'kill-owner-speaker':
    case 'kill-other-speaker': {
      const svc = randomVipService();
      const owner = own.get(svc.name)!;
      const node = kind === 'kill-owner-speaker' ? owner : pick(nodes().filter((n) => n !== owner));
      const downMs = between(1000, 3000);
      f.detail = `SIGKILL speaker@${node} (${kind === 'kill-owner-speaker' ? 'owner' : 'not owner'} of ${svc.name}), restarted after ${downMs} ms`;
      f.t0 = nowMs();
      process.kill(processOf(`ironlb-speaker@${node}`).pid, 'SIGKILL');
      await sleep(downMs);
      await restartLabProcess(dir, `ironlb-speaker@${node}`);
      f.tUndo = nowMs();
      lab = readLabState(dir)!;
      break;
    }
    case 'pause-short':
    case 'pause-long': {
      const svc = randomVipService();
      const owner = own.get(svc.name)!;
      const pauseMs = kind === 'pause-short' ? between(300, 600) : 3000;
      f.detail = `SIGSTOP speaker@${owner} (owner of ${svc.name}) for ${pauseMs} ms`;
      if (kind === 'pause-short') for (const [s, n] of own) if (n === owner) f.keepOwner[s] = macOf(n);
      const pid = processOf(`ironlb-speaker@${owner}`).pid;
      f.t0 = nowMs();
      process.kill(pid, 'SIGSTOP');
      await sleep(pauseMs);
      process.kill(pid, 'SIGCONT');
      f.tUndo = nowMs();
      break;
    }
    case 'link-down': {
      const svc = randomVipService();
      const owner = own.get(svc.name)!;
      f.detail = `eth0 of ${owner} (owner of ${svc.name}) down for 3 s`;
      // The kernel drops the routes through eth0 (to the other nodes' pod ranges) with the link;
      // a real node's routing daemon would put them back: the test does, or the node stays cut off
      // from 2/3 of the pods (seen in a first run: ~66 % of requests failing for minutes).
      const routes = (['-4', '-6'] as const).flatMap((fam) => runIn(nsOf(owner), 'ip', [fam, 'route', 'show']).split('\n').filter((l) => l.includes(' via ')).map((l) => [fam, l.trim()] as const));
      f.partlyServable = SERVICES.filter((s) => !s.local).map((s) => vips.get(s.name)!);
      f.t0 = nowMs();
      runIn(nsOf(owner), 'ip', ['link', 'set', 'eth0', 'down']);
      await sleep(3000);
      runIn(nsOf(owner), 'ip', ['link', 'set', 'eth0', 'up']);
      f.tUndo = nowMs();
      for (const [fam, line] of routes) {
        // IPv6 next hops need the address out of DAD first: retry for a few seconds.
        for (let i = 0; i < 30; i++) {
          const r = spawnSync('ip', ['-n', nsOf(owner), fam, 'route', 'replace', ...line.split(/\s+/)], { encoding: 'utf8' });
          if (r.status === 0) break;
          if (i === 29) f.problems.push(`could not restore route "${line}": ${r.stderr.trim()}`);
          await sleep(100);
        }
      }
      break;
    }
    case 'controller-kill': {
      f.detail = 'SIGKILL controller, restarted after 1 s';
      f.t0 = nowMs();
      process.kill(processOf('ironlb-controller').pid, 'SIGKILL');
      await sleep(1000);
      await restartLabProcess(dir, 'ironlb-controller');
      f.tUndo = nowMs();
      lab = readLabState(dir)!;
      break;
    }
    case 'api-outage': {
      f.detail = `SIGSTOP kube-apiserver for ${API_OUTAGE_MS} ms`;
      for (const [s, n] of own) f.keepOwner[s] = macOf(n);
      const before = withdrawLines();
      const pid = processOf('kube-apiserver').pid;
      f.t0 = nowMs();
      process.kill(pid, 'SIGSTOP');
      await sleep(API_OUTAGE_MS);
      const during = withdrawLines() - before;
      process.kill(pid, 'SIGCONT');
      f.tUndo = nowMs();
      if (during) f.problems.push(`${during} "withdrawing" log lines during the API server outage`);
      break;
    }
    case 'partition': {
      const node = pick(nodes());
      const peers = lab.network!.nodes.filter((n) => n.name !== node).flatMap((n) => n.addresses);
      const v4 = peers.filter((a) => !a.includes(':')).join(', ');
      const v6 = peers.filter((a) => a.includes(':')).join(', ');
      f.detail = `gossip (UDP 7946) between ${node} and the other nodes dropped for 4 s`;
      const rules = `table inet ironlb_chaos {
  chain input { type filter hook input priority 0; udp dport 7946 ip saddr { ${v4} } drop; udp dport 7946 ip6 saddr { ${v6} } drop; udp sport 7946 ip saddr { ${v4} } drop; udp sport 7946 ip6 saddr { ${v6} } drop; }
  chain output { type filter hook output priority 0; udp dport 7946 ip daddr { ${v4} } drop; udp dport 7946 ip6 daddr { ${v6} } drop; udp sport 7946 ip daddr { ${v4} } drop; udp sport 7946 ip6 daddr { ${v6} } drop; }
}
`;
      f.t0 = nowMs();
      runIn(nsOf(node), 'nft', ['-f', '-'], rules);
      await sleep(4000);
      runIn(nsOf(node), 'nft', ['delete', 'table', 'inet', 'ironlb_chaos']);
      f.tUndo = nowMs();
      break;
    }
    case 'scale-flap': {
      f.detail = 'Deployment flap scaled 2 -> 0 -> 2';
      f.unservable = [vips.get('flap4')!];
      f.t0 = nowMs();
      k(['-n', 'default', 'scale', 'deployment', 'flap', '--replicas=0']);
      await waitFor('flap4 has no ready endpoint', () => readyEndpoints('flap4') === 0 || undefined, 20_000).catch(() => f.problems.push('flap4 kept a ready endpoint 20 s after scaling to 0'));
      await sleep(1500);
      k(['-n', 'default', 'scale', 'deployment', 'flap', '--replicas=2']);
      await waitFor('flap4 has a ready endpoint', () => readyEndpoints('flap4') > 0 || undefined, 30_000).catch(() => f.problems.push('flap4 got no ready endpoint 30 s after scaling to 2'));
      f.tUndo = nowMs();
      break;
    }
    case 'delete-local-pod': {
      const owner = own.get('loc4')!;
      const pod = readyPods('loc').find((p) => p.spec?.nodeName === owner) ?? pick(readyPods('loc'));
      f.detail = `pod ${pod.metadata.name} on ${pod.spec.nodeName} (loc4 owner ${owner}) force-deleted`;
      f.t0 = nowMs();
      k(['-n', 'default', 'delete', 'pod', pod.metadata.name, '--grace-period=0', '--force', '--wait=false']);
      break;
    }
  }
  return f;
}

describe('chaos in the lab', () => {
  beforeAll(async () => {
    log(`seed ${SEED} (replay: CHAOS_SEED=${SEED})`);
    lab = await labUp({ dir, progress: (l) => log(`lab: ${l}`), nodes: 3 });
    k(['apply', '-f', '-'], `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: lan, namespace: metallb-system}
spec:
  addresses: [192.0.2.200-192.0.2.209, 2001:db8:1::200-2001:db8:1::209]
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: lan, namespace: metallb-system}
spec:
  ipAddressPools: [lan]
`);
    k(['apply', '-f', '-'], [deployment('web', 3, 8080), deployment('loc', 2, 8081), deployment('flap', 2, 8082)].join('---\n'));
    k(['apply', '-f', '-'], SERVICES.map(service).join('---\n'));
    for (const s of SERVICES) vips.set(s.name, await waitFor(`${s.name} ingress`, () => ingress(s.name), 60_000));
    for (const [s, ip] of vips) ipsAtStart.set(s, ip);
    await waitFor('pods ready', () => (readyPods('web').length === 3 && readyPods('loc').length === 2 && readyPods('flap').length === 2) || undefined, 90_000);
    const net = lab.network!;
    capture = startCapture(net.switchNamespace, net.nodes.map((n) => n.switchPort), [...vips.values()]);
    client = startClient(net.clientNamespace, [...vips.values()], 75, 1000);
    await Promise.all([capture.ready(), client.ready()]);
    if (!(await settle(60_000))) throw new Error(`the VIPs never all answered before the faults: ${JSON.stringify(client.records.slice(-20))}`);
    log(`VIPs ${JSON.stringify(Object.fromEntries(vips))}, owners ${JSON.stringify(Object.fromEntries(owners()))}`);
  }, 240_000);

  afterAll(async () => {
    await capture?.stop();
    await client?.stop();
    // A test that failed mid-fault must not leave a stopped process behind (labDown cannot kill a stopped... it can; SIGCONT anyway).
    for (const p of readLabState(dir)?.processes ?? []) {
      try {
        process.kill(p.pid, 'SIGCONT');
      } catch {
        /* gone */
      }
    }
    // CHAOS_KEEP_LOGS=<dir>: the lab's logs (speakers, controller, API server) for a post-mortem.
    if (process.env.CHAOS_KEEP_LOGS) cpSync(join(dir, 'logs'), process.env.CHAOS_KEEP_LOGS, { recursive: true });
    await labDown(dir, () => {});
    rmSync(parent, { recursive: true, force: true });
  }, 120_000);

  test('faults in seeded random order: one MAC per VIP, recovery within 1.5 s, nothing withdrawn while the API server is away, same IPs after', async () => {
    const order = PLAN.flatMap(([kind, n]) => Array.from({ length: n }, () => kind));
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    log(`fault order: ${order.join(', ')}`);
    const started = nowMs();
    const skipped: FaultKind[] = [];
    for (const kind of order) {
      if (nowMs() - started > FAULT_BUDGET_MS && kind !== 'api-outage') {
        skipped.push(kind);
        continue;
      }
      const f = await runFault(kind);
      // Give the fault's effects time to show, then wait for every VIP to answer again.
      await sleep(2000);
      if (!(await settle())) {
        const t = nowMs();
        const bad = [...vips].filter(([, ip]) => client!.records.some((r) => r.ip === ip && r.t0 > t - 2000 && !r.ok)).map(([s]) => s);
        f.problems.push(`did not settle within 25 s (failing: ${bad.join(', ') || 'none'}; owners ${JSON.stringify(Object.fromEntries(owners()))})`);
      }
      f.tEnd = nowMs();
      faults.push(f);
      log(`${kind}: ${f.detail} (${Math.round(f.tEnd - f.t0)} ms)`);
    }
    if (skipped.length) log(`skipped for the time budget: ${skipped.join(', ')}`);

    const answers = capture!.records;
    const requests = client!.records;
    const macToNode = new Map(lab.network!.nodes.map((n) => [n.mac, n.name]));
    const failures: string[] = [];
    const faultAt = (t: number) => faults.find((f) => t >= f.t0 && t < f.tEnd);
    for (const d of dualAnswers(answers, DUAL_WINDOW_MS)) {
      const f = faultAt(d.second.t);
      failures.push(`dual answer for ${d.ip}: ${macToNode.get(d.first.mac)} and ${macToNode.get(d.second.mac)} both answered for ${d.overlapMs.toFixed(0)} ms (from ${d.second.kind} at ${d.second.t.toFixed(0)}), during ${f ? `${f.kind}: ${f.detail}` : 'no fault'}`);
    }
    const table: string[] = [];
    for (const f of faults) {
      const cells: string[] = [];
      for (const [svc, ip] of vips) {
        const unservable = f.unservable.includes(ip);
        const phases: [string, number, number][] = unservable
          ? [['after undo', f.tUndo ?? f.t0, f.tEnd]]
          : f.tUndo ? [['fault', f.t0, f.tUndo], ['after undo', f.tUndo, f.tEnd]] : [['fault', f.t0, f.tEnd]];
        for (const [phase, from, to] of phases) {
          if (phase === 'fault' && f.partlyServable.includes(ip)) {
            const first = requests.filter((q) => q.ip === ip && q.ok && q.t0 >= from && q.t0 < to).sort((a, b) => a.t0 - b.t0)[0];
            const mine = requests.filter((q) => q.ip === ip && q.t0 >= from && q.t0 < to);
            const firstMs = first ? first.t0 - from : null;
            cells.push(`${svc} ${phase}: ${mine.filter((q) => !q.ok).length}/${mine.length} failed (partly servable), first success ${firstMs === null ? 'never' : `${firstMs.toFixed(0)} ms`}`);
            if (firstMs === null || firstMs > RECOVERY_MS) failures.push(`${f.kind} (${f.detail}): ${svc} ${phase}: no request succeeded within ${RECOVERY_MS} ms (first success ${firstMs === null ? 'never' : `after ${firstMs.toFixed(0)} ms`})`);
            continue;
          }
          const r = recovery(requests, ip, from, to);
          if (r.failures) cells.push(`${svc} ${phase}: ${r.failures}/${r.requests} failed, recovered ${r.recoveryMs === null ? 'never' : `${r.recoveryMs.toFixed(0)} ms`}`);
          if (r.recoveryMs === null || r.recoveryMs > RECOVERY_MS) failures.push(`${f.kind} (${f.detail}): ${svc} ${phase} recovered ${r.recoveryMs === null ? 'never' : `after ${r.recoveryMs.toFixed(0)} ms`} (${r.failures}/${r.requests} failed)`);
        }
      }
      for (const [svc, mac] of Object.entries(f.keepOwner)) {
        const ip = vips.get(svc)!;
        const others = answers.filter((a) => a.ip === ip && a.t >= f.t0 && a.t < f.tEnd && a.mac !== mac);
        if (others.length) failures.push(`${f.kind} (${f.detail}): ${svc} answered by ${[...new Set(others.map((a) => macToNode.get(a.mac)))].join(', ')}, not only its owner ${macToNode.get(mac)}`);
      }
      for (const p of f.problems) failures.push(`${f.kind} (${f.detail}): ${p}`);
      table.push(`  ${f.kind.padEnd(18)} ${f.detail}${cells.length ? `\n      ${cells.join('\n      ')}` : ' — no failed request'}`);
    }
    log(`per fault:\n${table.join('\n')}`);
    log(`${answers.length} answers captured, ${requests.length} requests (${requests.filter((r) => !r.ok).length} failed)`);
    if (capture!.errors.length || client!.errors.length) log(`observer errors: ${[...capture!.errors, ...client!.errors].join('; ')}`);

    // Restart invariance under chaos: same IPs, one ServiceL2Status each.
    for (const s of SERVICES) {
      const ip = ingress(s.name);
      if (ip !== ipsAtStart.get(s.name)) failures.push(`${s.name} has ${ip}, had ${ipsAtStart.get(s.name)} at the start`);
    }
    const st = l2Statuses();
    for (const s of SERVICES) {
      const n = st.filter((x) => x.service === s.name).length;
      if (n !== 1) failures.push(`${s.name} has ${n} ServiceL2Status objects`);
    }
    if (failures.length) log(`FAILURES (seed ${SEED}):\n  ${failures.join('\n  ')}`);
    expect(faults.length).toBeGreaterThan(0);
    expect(answers.length).toBeGreaterThan(0);
    expect(failures).toEqual([]);
  }, 420_000);
});
