// Layer 2 end to end with real kernels: a lab with 3 node namespaces running `ironlb speaker`,
// lab agents running the pods, and a client on the same LAN using curl, ip neigh and arping.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { kubectl as labKubectl, labDown, labUp, readLabState, restartLabProcess, type LabState } from '../../src/lab/lab.js';
import { runIn } from '../../src/lab/network.js';
import { agnhostDeployment, loadBalancerService } from '../../src/lab/workloads.js';
import { sleep } from '../../src/lab/processes.js';
import { waitFor } from './harness.js';
import { solicitedNodeMulticastIp } from '../../src/speaker/l2/ndp.js';
import { projectRoot } from '../../src/lab/projectRoot.js';

const parent = mkdtempSync(join(tmpdir(), 'ironlb-l2e2e-'));
const dir = join(parent, 'lab');
let lab: LabState;
const k = (args: string[], input?: string) => labKubectl(lab, args, input);
const json = (args: string[]) => JSON.parse(k([...args, '-o', 'json']));
const client = () => lab.network!.clientNamespace;
const macOf = (node: string) => lab.network!.nodes.find((n) => n.name === node)!.mac;
const nsOf = (node: string) => lab.network!.nodes.find((n) => n.name === node)!.namespace;

function curl(url: string, timeout = 2): { pod: string; node: string; client: string } | undefined {
  try {
    return JSON.parse(runIn(client(), 'curl', ['-sg', '--max-time', String(timeout), url]));
  } catch {
    return undefined;
  }
}

function neighMac(ip: string): string | undefined {
  const line = runIn(client(), 'ip', ['neigh', 'show', ip]).trim();
  return /lladdr ([0-9a-f:]+)/.exec(line)?.[1];
}

function flushNeigh(): void {
  runIn(client(), 'ip', ['neigh', 'flush', 'dev', 'eth0']);
}

function ingress(name: string): string[] {
  return ((json(['-n', 'default', 'get', 'svc', name]).status?.loadBalancer?.ingress ?? []) as { ip: string }[]).map((i) => i.ip);
}

function l2Owner(name: string): string | undefined {
  const items = json(['-n', 'metallb-system', 'get', 'servicel2statuses']).items as any[];
  const mine = items.filter((i) => i.status?.serviceName === name && i.status?.serviceNamespace === 'default');
  return mine.length === 1 ? mine[0].status.node : undefined;
}

const deployment = (name: string, replicas: number, port: number) => agnhostDeployment(name, { replicas, port });
const service = (name: string, app: string, opts: { family?: 'IPv6'; local?: boolean; port?: number }) =>
  loadBalancerService(name, { app, targetPort: opts.port ?? 8080, ...(opts.family ? { family: opts.family } : {}), ...(opts.local ? { local: true } : {}) });

describe('layer 2 in the lab', () => {
  beforeAll(async () => {
    lab = await labUp({ dir, progress: (l) => process.stderr.write(`[l2 lab] ${l}\n`), nodes: 3 });
    expect(readLabState(dir)?.processes.filter((p) => p.name.startsWith('ironlb-speaker@'))).toHaveLength(3);
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
    k(['apply', '-f', '-'], deployment('web', 3, 8080));
    await waitFor('3 web pods running', () => {
      const pods = json(['-n', 'default', 'get', 'pods', '-l', 'app=web']).items as any[];
      return pods.length === 3 && pods.every((p) => p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True')) ? pods : undefined;
    }, 60_000);
  }, 300_000);

  afterAll(async () => {
    await labDown(dir, () => {});
    rmSync(parent, { recursive: true, force: true });
  }, 120_000);

  test('IPv4 and IPv6: the client resolves the VIP to the owner\'s MAC and curl through the VIP reaches a pod', async () => {
    k(['apply', '-f', '-'], service('web4', 'web', {}) + '---\n' + service('web6', 'web', { family: 'IPv6' }));
    const [v4] = await waitFor('web4 ingress', () => ingress('web4').length ? ingress('web4') : undefined);
    const [v6] = await waitFor('web6 ingress', () => ingress('web6').length ? ingress('web6') : undefined);
    expect(v4).toMatch(/^192\.0\.2\.20\d$/);
    expect(v6).toMatch(/^2001:db8:1::20\d$/);
    const r4 = await waitFor('curl v4 VIP', () => curl(`http://${v4}/`));
    expect(r4.pod).toMatch(/^web-/);
    const r6 = await waitFor('curl v6 VIP', () => curl(`http://[${v6}]/`));
    expect(r6.pod).toMatch(/^web-/);
    const owner4 = await waitFor('web4 ServiceL2Status', () => l2Owner('web4'));
    const owner6 = await waitFor('web6 ServiceL2Status', () => l2Owner('web6'));
    expect(neighMac(v4!)).toBe(macOf(owner4));
    expect(neighMac(v6!)).toBe(macOf(owner6));
    // The owner joined the VIP's solicited-node group at the IP layer too (MLD reports for snooping switches).
    const group = solicitedNodeMulticastIp(v6!);
    expect(runIn(nsOf(owner6), 'ip', ['-6', 'maddr', 'show', 'dev', 'eth0'])).toContain(group);
    for (const other of lab.network!.nodes.filter((n) => n.name !== owner6)) {
      expect(runIn(other.namespace, 'ip', ['-6', 'maddr', 'show', 'dev', 'eth0'])).not.toContain(group);
    }
    // `ironlb status` names the same owner and interface the client sees.
    const status = spawnSync(process.execPath, [join(projectRoot(), 'bin', 'ironlb.js'), 'status', '-o', 'json', '--kubeconfig', lab.kubeconfig], { encoding: 'utf8' });
    expect(status.status, status.stderr).toBe(0);
    const reports = JSON.parse(status.stdout).services as { service: string; state: string; announcers: { node: string; protocol: string }[] }[];
    for (const [svc, owner] of [['default/web4', owner4], ['default/web6', owner6]] as const) {
      const r = reports.find((x) => x.service === svc);
      expect(r, status.stdout).toMatchObject({ state: 'ok', announcers: [{ node: owner, protocol: 'layer2' }] });
    }
    const events = json(['-n', 'default', 'get', 'events', '--field-selector', 'involvedObject.name=web4']).items as any[];
    expect(events.some((e) => e.reason === 'nodeAssigned' && (e.note ?? e.message).includes(owner4))).toBe(true);
  });

  test('nobody answers for an IP nobody announces, nor for a Service without endpoints', async () => {
    k(['apply', '-f', '-'], service('noeps', 'nothing-matches', {}));
    const [ip] = await waitFor('noeps ingress', () => ingress('noeps').length ? ingress('noeps') : undefined);
    for (const target of [ip!, '192.0.2.209']) {
      const r = runArping(target);
      expect(r.replies, `arping ${target}: ${r.out}`).toBe(0);
    }
    expect(l2Owner('noeps')).toBeUndefined();
  });

  test('externalTrafficPolicy Local: only a node with a local pod announces and the pod sees the client address', async () => {
    k(['apply', '-f', '-'], deployment('solo', 1, 8081));
    const pod = await waitFor('solo pod ready', () => {
      const p = (json(['-n', 'default', 'get', 'pods', '-l', 'app=solo']).items as any[])[0];
      return p?.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') ? p : undefined;
    }, 60_000);
    k(['apply', '-f', '-'], service('solo', 'solo', { local: true, port: 8081 }));
    const [ip] = await waitFor('solo ingress', () => ingress('solo').length ? ingress('solo') : undefined);
    expect(await waitFor('solo owner', () => l2Owner('solo'))).toBe(pod.spec.nodeName);
    const r = await waitFor('curl solo', () => curl(`http://${ip}/`));
    expect(r.node).toBe(pod.spec.nodeName);
    expect(r.client).toBe('192.0.2.100');
    expect(neighMac(ip!)).toBe(macOf(pod.spec.nodeName));
  });

  test('a burst of Services gets exactly one ServiceL2Status each (no duplicates from concurrent passes)', async () => {
    const names = Array.from({ length: 6 }, (_, i) => `burst-${i}`);
    k(['apply', '-f', '-'], names.map((n) => service(n, 'web', {})).join('---\n'));
    const count = () => {
      const items = json(['-n', 'metallb-system', 'get', 'servicel2statuses']).items as any[];
      return names.map((n) => items.filter((i) => i.status?.serviceName === n || i.metadata?.labels?.['metallb.io/service-name'] === n).length);
    };
    await waitFor('one status per burst Service', () => count().every((c) => c === 1) || undefined, 30_000);
    await sleep(2000);
    expect(count()).toEqual(names.map(() => 1));
    k(['-n', 'default', 'delete', 'svc', ...names]);
    await waitFor('burst statuses removed', () => count().every((c) => c === 0) || undefined, 30_000);
  });

  test('restarting the owner\'s speaker keeps the same owner', async () => {
    const [ip] = ingress('web4');
    const owner = l2Owner('web4')!;
    await restartLabProcess(dir, `ironlb-speaker@${owner}`);
    lab = readLabState(dir)!;
    // SIGKILL: the others may take over until the restarted speaker has re-joined; the stateless
    // election then gives the IP back to the same node (how long depends on the machine's load).
    // The old object of the killed speaker may still be there at first, so the client's ARP
    // answer is the proof: the owner's status and the owner's MAC, together.
    await waitFor('the same owner answering again', () => {
      if (l2Owner('web4') !== owner) return undefined;
      flushNeigh();
      return curl(`http://${ip}/`) && neighMac(ip!) === macOf(owner) ? true : undefined;
    }, 30_000);
  });

  test('the speaker keeps answering while the API server is down', async () => {
    const [ip] = ingress('web4');
    const owner = l2Owner('web4')!;
    const restart = restartLabProcess(dir, 'kube-apiserver', 6000);
    await sleep(1500);
    flushNeigh();
    const r = curl(`http://${ip}/`, 3);
    expect(r?.pod).toMatch(/^web-/);
    expect(neighMac(ip!)).toBe(macOf(owner));
    await restart;
    lab = readLabState(dir)!;
  }, 120_000);

  test('metrics: the owner exports metallb_speaker_announced and layer-2 counters for the VIP', async () => {
    const [ip] = ingress('web4');
    const owner = l2Owner('web4')!;
    const text = runIn(nsOf(owner), 'curl', ['-s', '--max-time', '2', 'http://127.0.0.1:7472/metrics']);
    expect(text).toMatch(new RegExp(`metallb_speaker_announced\\{[^}]*ip="${ip!.replace(/\./g, '\\.')}"[^}]*\\} 1`));
    expect(text).toMatch(new RegExp(`metallb_layer2_gratuitous_sent\\{ip="${ip!.replace(/\./g, '\\.')}"\\} [1-9]`));
    const other = lab.network!.nodes.find((n) => n.name !== owner)!;
    const otherText = runIn(other.namespace, 'curl', ['-s', '--max-time', '2', 'http://127.0.0.1:7472/metrics']);
    expect(otherText).not.toMatch(new RegExp(`metallb_speaker_announced\\{[^}]*ip="${ip!.replace(/\./g, '\\.')}"`));
  });

  test('a briefly paused owner (SIGSTOP 400 ms, like a GC pause) keeps its IP: no flap, no second owner', async () => {
    const [ip] = ingress('web4');
    const owner = l2Owner('web4')!;
    const speaker = readLabState(dir)!.processes.find((p) => p.name === `ironlb-speaker@${owner}`)!;
    const others = lab.network!.nodes.filter((n) => n.name !== owner);
    const logLines = (node: string) => readFileSync(join(dir, 'logs', `speaker-${node}.log`), 'utf8').split('\n').filter((l) => l.includes('"announcing"') && l.includes('default/web4')).length;
    const before = others.map((n) => logLines(n.name));
    process.kill(speaker.pid, 'SIGSTOP');
    await sleep(400);
    process.kill(speaker.pid, 'SIGCONT');
    await sleep(2500);
    expect(others.map((n) => logLines(n.name))).toEqual(before);
    expect(l2Owner('web4')).toBe(owner);
    flushNeigh();
    expect(await waitFor('curl after pause', () => curl(`http://${ip}/`))).toBeDefined();
    expect(neighMac(ip!)).toBe(macOf(owner));
  });

  test('owner lost (link down + SIGKILL): another node takes over and curl works again', async () => {
    const [ip] = ingress('web4');
    const owner = l2Owner('web4')!;
    expect(curl(`http://${ip}/`)).toBeDefined();
    const speaker = readLabState(dir)!.processes.find((p) => p.name === `ironlb-speaker@${owner}`)!;
    const t0 = Date.now();
    runIn(nsOf(owner), 'ip', ['link', 'set', 'eth0', 'down']);
    process.kill(speaker.pid, 'SIGKILL');
    const newMac = await waitFor('neighbour entry moves', () => {
      const m = neighMac(ip!);
      return m && m !== macOf(owner) ? m : undefined;
    }, 15_000);
    const moved = Date.now() - t0;
    const r = await waitFor('curl after failover', () => curl(`http://${ip}/`, 1), 15_000);
    process.stderr.write(`[l2 e2e] failover: neighbour moved after ${moved} ms, first curl after ${Date.now() - t0} ms\n`);
    const survivors = lab.network!.nodes.filter((n) => n.name !== owner);
    expect(survivors.map((n) => n.mac)).toContain(newMac);
    expect(r.node).not.toBe(owner);
    // Put the node back for whoever runs next.
    runIn(nsOf(owner), 'ip', ['link', 'set', 'eth0', 'up']);
    await restartLabProcess(dir, `ironlb-speaker@${owner}`);
  }, 60_000);
});

function runArping(ip: string): { replies: number; out: string } {
  // Debian's arping: exits 1 when nothing answers; the count is in its summary line.
  const r = spawnSync('ip', ['netns', 'exec', client(), 'arping', '-c', '3', '-I', 'eth0', ip], { encoding: 'utf8', timeout: 15_000 });
  const out = `${r.stdout}${r.stderr}`;
  const m = /(\d+) packets received/i.exec(out) ?? /Received (\d+) response/i.exec(out);
  return { replies: m ? Number(m[1]) : -1, out };
}
