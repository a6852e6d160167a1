// The real speaker (`ironlb speaker` in every node namespace) against the lab router of
// `lab up --router bird|frr|gobgp`: one 2-node lab per daemon. FRR (iBGP, so LOCAL_PREF is carried)
// runs the full semantic matrix: Cluster ECMP and client traffic, IPv6 over an IPv6 session,
// communities (standard, large, Community alias), localPref and aggregation in the router's RIB,
// ETP Local withdraw timing, graceful restart of a speaker, wrong peers beside a working one, BFD.
// BIRD and GoBGP (eBGP) run a smoke set (ECMP, client traffic, ServiceBGPStatus); BIRD also BFD.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { kubectl, labDown, labUp, restartLabProcess, type LabState } from '../../src/lab/lab.js';
import type { RouterKind } from '../../src/lab/router.js';
import { waitFor } from './harness.js';
import { agnhostDeployment, loadBalancerService } from '../../src/lab/workloads.js';

const NODE_ADDR: Record<string, { v4: string; v6: string }> = {
  'lab-node-1': { v4: '192.0.2.11', v6: '2001:db8:1::11' },
  'lab-node-2': { v4: '192.0.2.12', v6: '2001:db8:1::12' },
};
const BOTH_V4 = ['192.0.2.11', '192.0.2.12'];
const BOTH_V6 = ['2001:db8:1::11', '2001:db8:1::12'];

function sh(command: string, timeout = 20_000): { code: number | null; out: string; err: string } {
  const r = spawnSync('sh', ['-c', command], { encoding: 'utf8', timeout, maxBuffer: 64 << 20 });
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}

function inNs(ns: string, command: string[], timeout = 20_000): { code: number | null; out: string; err: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, ...command], { encoding: 'utf8', timeout, maxBuffer: 64 << 20 });
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}

/** Next hops of the router's kernel route to `prefix` (ECMP entries expanded), sorted. */
function kernelNextHops(ns: string, prefix: string): string[] {
  const family = prefix.includes(':') ? '-6' : '-4';
  const r = spawnSync('ip', ['-n', ns, '-j', family, 'route', 'show', prefix], { encoding: 'utf8' });
  const routes = JSON.parse(r.stdout || '[]') as { dst: string; gateway?: string; nexthops?: { gateway?: string }[] }[];
  return routes.flatMap((x) => (x.nexthops ? x.nexthops.flatMap((n) => (n.gateway ? [n.gateway] : [])) : x.gateway ? [x.gateway] : [])).sort();
}

interface CurlAnswer { pod: string; node: string; client: string }

const deployment = (name: string, replicas: number, port: number) => agnhostDeployment(name, { replicas, port, spreadOverNodes: true });
const service = (name: string, app: string, opts: { port: number; local?: boolean; v6?: boolean; pool?: string }) => loadBalancerService(name, {
  app, targetPort: opts.port, ...(opts.local ? { local: true } : {}), ...(opts.v6 ? { family: 'IPv6' as const } : {}), ...(opts.pool ? { pool: opts.pool } : {}),
});

/** One lab with the real speakers and `kind` as the router; hooks registered in the calling describe. */
function bgpLab(kind: RouterKind, asns: { routerAsn?: number; nodeAsn?: number } = {}) {
  const progress = (l: string) => process.stderr.write(`[bgpLab ${kind}] ${l}\n`);
  let parent = '';
  let dir = '';
  let state: LabState | undefined;
  const ctx = {
    progress,
    get state(): LabState { return state as LabState; },
    get dir(): string { return dir; },
    get rt(): string { return state?.router?.namespace as string; },
    get client(): string { return state?.network?.clientNamespace as string; },
    nodeNs(node: string): string { return state?.network?.nodes.find((n) => n.name === node)?.namespace as string; },
    k(args: string[], input?: string): string { return kubectl(ctx.state, args, input); },
    json(args: string[]): any { return JSON.parse(ctx.k([...args, '-o', 'json'])); },
    apply(yaml: string): void { ctx.k(['apply', '-f', '-'], yaml); },
    ingress(name: string): string[] {
      return ((ctx.json(['-n', 'default', 'get', 'svc', name]).status?.loadBalancer?.ingress ?? []) as { ip: string }[]).map((i) => i.ip);
    },
    async waitIngress(name: string): Promise<string> {
      const [ip] = await waitFor(`${name} ingress`, () => (ctx.ingress(name).length ? ctx.ingress(name) : undefined), 30_000);
      return ip as string;
    },
    async waitPodsReady(app: string, n: number): Promise<any[]> {
      return waitFor(`${n} ${app} pods ready`, () => {
        const pods = ctx.json(['-n', 'default', 'get', 'pods', '-l', `app=${app}`]).items as any[];
        const live = pods.filter((p) => !p.metadata.deletionTimestamp);
        return live.length === n && live.every((p) => p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True')) ? live : undefined;
      }, 90_000);
    },
    /** Nodes listed in ServiceBGPStatus objects of a Service, with their peers. */
    bgpStatus(name: string): Record<string, string[]> {
      const items = ctx.json(['-n', 'metallb-system', 'get', 'servicebgpstatuses']).items as any[];
      return Object.fromEntries(items.filter((i) => i.status?.serviceName === name && i.status?.serviceNamespace === 'default')
        .map((i) => [i.status.node as string, [...(i.status.peers ?? [])].sort() as string[]]));
    },
    curl(ip: string, timeout = 2): CurlAnswer | undefined {
      const url = ip.includes(':') ? `http://[${ip}]/` : `http://${ip}/`;
      const r = inNs(ctx.client, ['curl', '-sg', '--max-time', String(timeout), url]);
      try { return r.code === 0 ? (JSON.parse(r.out) as CurlAnswer) : undefined; } catch { return undefined; }
    },
    async waitHops(prefix: string, want: string[], timeoutMs = 30_000): Promise<void> {
      await waitFor(`router ${kind}: ${prefix} via ${want.join(', ') || 'nobody'}`, () => kernelNextHops(ctx.rt, prefix).join() === want.join(), timeoutMs)
        .catch((e: Error) => { throw new Error(`${e.message}; now via ${kernelNextHops(ctx.rt, prefix).join(', ') || 'nobody'}\n${ctx.routerView()}`); });
    },
    routerView(): string {
      const c = state?.router?.commands;
      return c ? [sh(c.sessions).out, sh(c.routes).out].join('\n').slice(-4000) : '';
    },
    speakerLog(node: string): string {
      return readFileSync(join(dir, 'logs', `speaker-${node}.log`), 'utf8');
    },
  };
  beforeAll(async () => {
    parent = mkdtempSync(join(tmpdir(), `ironlb-bgplab-${kind}-`));
    dir = join(parent, 'lab');
    state = await labUp({ dir, progress, nodes: 2, router: kind, ...asns });
  }, 300_000);
  afterAll(async () => {
    if (dir) await labDown(dir, progress).catch((e: Error) => progress(`lab down: ${e.message}`));
    if (parent) rmSync(parent, { recursive: true, force: true });
  }, 120_000);
  return ctx;
}

type Lab = ReturnType<typeof bgpLab>;

/** Smoke set, every daemon: a Cluster Service gets a 203.0.113.x VIP, ECMP from both nodes, client traffic, statuses. */
async function clusterSmoke(lab: Lab, opts: { firstOctetBelow?: number } = {}): Promise<string> {
  lab.apply(deployment('web', 2, 8080));
  lab.apply(service('web', 'web', { port: 8080 }) + '---\n' + service('web-local', 'web', { port: 8080, local: true }));
  const pods = await lab.waitPodsReady('web', 2);
  expect(pods.map((p) => p.spec.nodeName).sort()).toEqual(['lab-node-1', 'lab-node-2']);
  const vip = await lab.waitIngress('web');
  expect(vip).toMatch(/^203\.0\.113\.\d+$/);
  if (opts.firstOctetBelow !== undefined) expect(Number(vip.split('.')[3])).toBeLessThan(opts.firstOctetBelow);
  await lab.waitHops(vip, BOTH_V4);
  const answer = await waitFor('curl the VIP from the client', () => lab.curl(vip));
  expect(answer.pod).toMatch(/^web-/);
  expect(Object.keys(NODE_ADDR)).toContain(answer.node);
  const status = await waitFor('ServiceBGPStatus on both nodes', () => {
    const s = lab.bgpStatus('web');
    return Object.keys(s).length === 2 ? s : undefined;
  });
  expect(status['lab-node-1']).toContain('lab-router');
  expect(status['lab-node-2']).toContain('lab-router');
  // ETP Local: kube-proxy only forwards to the local pod, so the answering pod's node is the node the
  // router chose; with L4 ECMP hashing, different source ports reach both nodes.
  const local = await lab.waitIngress('web-local');
  await lab.waitHops(local, BOTH_V4);
  const nodes = new Set<string>();
  for (let i = 0; i < 24 && nodes.size < 2; i++) {
    const a = lab.curl(local);
    if (a) nodes.add(a.node);
  }
  expect([...nodes].sort()).toEqual(['lab-node-1', 'lab-node-2']);
  return vip;
}

/** IPv6 over a second BGPPeer to the router's IPv6 address: a v6 Service, ECMP at the router, client traffic. */
async function ipv6Smoke(lab: Lab, myAsn: number, peerAsn: number): Promise<void> {
  lab.apply(`apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: lab-bgp6, namespace: metallb-system}
spec: {addresses: [2001:db8:4::/64], autoAssign: false}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: lab-bgp6, namespace: metallb-system}
spec: {ipAddressPools: [lab-bgp6]}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: lab-router-v6, namespace: metallb-system}
spec: {myASN: ${myAsn}, peerASN: ${peerAsn}, peerAddress: "2001:db8:1::1"}
`);
  lab.apply(service('web6', 'web', { port: 8080, v6: true, pool: 'lab-bgp6' }));
  const vip6 = await lab.waitIngress('web6');
  expect(vip6).toMatch(/^2001:db8:4::/);
  await lab.waitHops(vip6, BOTH_V6);
  expect((await waitFor('curl the IPv6 VIP from the client', () => lab.curl(vip6))).pod).toMatch(/^web-/);
  const status = await waitFor('web6 ServiceBGPStatus on both nodes', () => {
    const st = lab.bgpStatus('web6');
    return Object.keys(st).length === 2 ? st : undefined;
  });
  for (const peers of Object.values(status)) expect(peers).toContain('lab-router-v6');
}

describe('speaker against FRR (iBGP): the full matrix', () => {
  const lab = bgpLab('frr', { routerAsn: 64512, nodeAsn: 64512 });
  const vtysh = (cmd: string) => sh(`ip netns exec ${lab.rt} /usr/bin/vtysh --vty_socket ${lab.state.router?.dir} -c '${cmd}'`);
  let webVip = '';

  beforeAll(() => {
    // The default pool is narrowed to the lower /25 so the aggregated pool can have the upper one.
    lab.apply(`apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: lab-bgp, namespace: metallb-system}
spec: {addresses: [203.0.113.0/25]}
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: agg, namespace: metallb-system}
spec: {addresses: [203.0.113.128/25], autoAssign: false}
---
apiVersion: metallb.io/v1beta1
kind: Community
metadata: {name: lab-communities, namespace: metallb-system}
spec:
  communities:
  - {name: lab-tag, value: "64512:777"}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: agg, namespace: metallb-system}
spec:
  ipAddressPools: [agg]
  aggregationLength: 25
  localPref: 150
  communities: ["65000:100", "large:64512:1:2", lab-tag]
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: lab-bgp6, namespace: metallb-system}
spec: {addresses: [2001:db8:4::/64], autoAssign: false}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: lab-bgp6, namespace: metallb-system}
spec: {ipAddressPools: [lab-bgp6]}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: lab-router-v6, namespace: metallb-system}
spec: {myASN: 64512, peerASN: 64512, peerAddress: "2001:db8:1::1"}
`);
  }, 60_000);

  test('Cluster: VIP from lab-bgp, ECMP via both nodes at the router, the client reaches it, both nodes answer, ServiceBGPStatus per node', async () => {
    webVip = await clusterSmoke(lab, { firstOctetBelow: 128 });
    // iBGP: FRR sees both paths as internal multipaths.
    const paths = JSON.parse(vtysh(`show bgp ipv4 unicast ${webVip}/32 json`).out).paths as any[];
    expect(paths.map((p) => p.nexthops[0].ip).sort()).toEqual(BOTH_V4);
    for (const p of paths) expect(p.peer.type).toBe('internal');
  }, 150_000);

  test('IPv6: a v6 Service from 2001:db8:4::/64 over the IPv6 session, ECMP at the router, reachable from 2001:db8:3::2', async () => {
    lab.apply(service('web6', 'web', { port: 8080, v6: true, pool: 'lab-bgp6' }));
    const vip6 = await lab.waitIngress('web6');
    expect(vip6).toMatch(/^2001:db8:4::/);
    await lab.waitHops(vip6, BOTH_V6);
    const a = await waitFor('curl the IPv6 VIP from the client', () => lab.curl(vip6));
    expect(a.pod).toMatch(/^web-/);
    const status = await waitFor('web6 ServiceBGPStatus on both nodes', () => {
      const s = lab.bgpStatus('web6');
      return Object.keys(s).length === 2 ? s : undefined;
    });
    for (const peers of Object.values(status)) expect(peers).toContain('lab-router-v6');
    const v6Rib = JSON.parse(vtysh(`show bgp ipv6 unicast ${vip6}/128 json`).out).paths as any[];
    expect(v6Rib.length).toBe(2);
  }, 60_000);

  test('communities (standard, large, alias), localPref 150 and aggregationLength 25: two Services, one /25 route', async () => {
    lab.apply(service('agg-a', 'web', { port: 8080, pool: 'agg' }) + '---\n' + service('agg-b', 'web', { port: 8080, pool: 'agg' }));
    const a = await lab.waitIngress('agg-a');
    const b = await lab.waitIngress('agg-b');
    expect(a).not.toBe(b);
    for (const ip of [a, b]) expect(Number(ip.split('.')[3])).toBeGreaterThanOrEqual(128);
    await lab.waitHops('203.0.113.128/25', BOTH_V4);
    const paths = JSON.parse(vtysh('show bgp ipv4 unicast 203.0.113.128/25 json').out).paths as any[];
    expect(paths.map((p) => p.nexthops[0].ip).sort()).toEqual(BOTH_V4);
    for (const p of paths) {
      expect(p.locPrf).toBe(150);
      expect(String(p.community?.string).split(' ').sort()).toEqual(['64512:777', '65000:100']);
      expect(p.largeCommunity?.string).toBe('64512:1:2');
    }
    // Aggregated only: no host route of either Service in the router's table.
    const routes = Object.keys(JSON.parse(vtysh('show bgp ipv4 unicast json').out).routes ?? {});
    expect(routes).toContain('203.0.113.128/25');
    expect(routes).not.toContain(`${a}/32`);
    expect(routes).not.toContain(`${b}/32`);
    for (const ip of [a, b]) expect((await waitFor(`curl ${ip}`, () => lab.curl(ip))).pod).toMatch(/^web-/);
  }, 60_000);

  test('externalTrafficPolicy Local: only nodes with a ready local pod advertise; the last local pod gone => that node withdraws', async () => {
    lab.apply(deployment('solo', 2, 8081));
    await lab.waitPodsReady('solo', 2);
    lab.apply(service('solo', 'solo', { port: 8081, local: true }));
    const vip = await lab.waitIngress('solo');
    await lab.waitHops(vip, BOTH_V4);
    await waitFor('solo statuses on both nodes', () => Object.keys(lab.bgpStatus('solo')).length === 2);
    const t0 = Date.now();
    lab.k(['-n', 'default', 'scale', 'deployment', 'solo', '--replicas=1']);
    const [left] = await lab.waitPodsReady('solo', 1);
    const keeper = left.spec.nodeName as string;
    await lab.waitHops(vip, [NODE_ADDR[keeper]!.v4]);
    const ms = Date.now() - t0;
    lab.progress(`ETP Local: scale 2 -> 1 until the router's next hops shrink: ${ms} ms`);
    expect(ms).toBeGreaterThan(0);
    await waitFor('the withdrawn node\'s ServiceBGPStatus removed', () => Object.keys(lab.bgpStatus('solo')).join() === keeper);
    expect((await waitFor('curl solo', () => lab.curl(vip))).node).toBe(keeper);
    // Back to zero local pods anywhere: the route goes.
    lab.k(['-n', 'default', 'scale', 'deployment', 'solo', '--replicas=0']);
    await lab.waitHops(vip, []);
  }, 120_000);

  test('graceful restart: SIGKILL + restart of a speaker leaves its route in the router the whole time', async () => {
    lab.k(['-n', 'metallb-system', 'patch', 'bgppeers.metallb.io', 'lab-router', '--type', 'merge', '-p', '{"spec":{"enableGracefulRestart":true}}']);
    // The changed spec restarts the sessions; wait for GR to be negotiated with both nodes.
    await waitFor('GR negotiated with both nodes', () => BOTH_V4.every((n) => {
      const gr = vtysh(`show bgp ipv4 neighbors ${n} graceful-restart`).out;
      return /Remote GR Mode:\s*Restart/.test(gr) && /End-of-RIB received: Yes/.test(gr);
    }), 60_000);
    await lab.waitHops(webVip, BOTH_V4);
    const before = vtysh('show bgp neighbors 192.0.2.11 json').out;
    const uptimeBefore = JSON.parse(before)['192.0.2.11'].bgpTimerUpEstablishedEpoch as number;
    let polls = 0;
    const missing: string[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const hops = kernelNextHops(lab.rt, webVip);
        polls++;
        if (!hops.includes('192.0.2.11')) missing.push(`${Date.now()}: ${hops.join(',')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      await restartLabProcess(lab.dir, 'ironlb-speaker@lab-node-1');
      await waitFor('the restarted speaker re-established its session', () => {
        const n = JSON.parse(vtysh('show bgp neighbors 192.0.2.11 json').out)['192.0.2.11'];
        return n.bgpState === 'Established' && n.bgpTimerUpEstablishedEpoch !== uptimeBefore;
      }, 60_000);
      // And the route is refreshed (no stale flag left) after End-of-RIB.
      await waitFor('route from lab-node-1 no longer stale', () => {
        const paths = JSON.parse(vtysh(`show bgp ipv4 unicast ${webVip}/32 json`).out).paths as any[];
        return paths.some((p) => p.nexthops[0].ip === '192.0.2.11' && !p.stale);
      }, 30_000);
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      polling = false;
      await poller;
    }
    expect(polls).toBeGreaterThan(20);
    expect(missing).toEqual([]);
  }, 120_000);

  test('wrong peers (nobody listening, MD5 password the router does not have): clear logs, the lab-router session is not disturbed', async () => {
    const peer = () => JSON.parse(vtysh('show bgp neighbors 192.0.2.11 json').out)['192.0.2.11'];
    const establishedAt = peer().bgpTimerUpEstablishedEpoch as number;
    lab.apply(`apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: nobody-listens, namespace: metallb-system}
spec: {myASN: 64512, peerASN: 64512, peerAddress: 192.0.2.1, peerPort: 1790, nodeSelectors: [{matchLabels: {kubernetes.io/hostname: lab-node-1}}]}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: bad-password, namespace: metallb-system}
spec: {myASN: 64512, peerASN: 64512, peerAddress: 192.0.2.1, password: not-the-routers, nodeSelectors: [{matchLabels: {kubernetes.io/hostname: lab-node-1}}]}
`);
    try {
      const logOf = (name: string) => lab.speakerLog('lab-node-1').split('\n').filter((l) => l.includes(`"${name}"`)).filter((l) => /"level":(40|50)/.test(l));
      const refused = await waitFor('a warning naming nobody-listens', () => logOf('nobody-listens').find((l) => /refused|ECONNREFUSED/i.test(l)), 30_000);
      expect(refused).toContain('192.0.2.1');
      const md5 = await waitFor('a warning naming bad-password', () => logOf('bad-password')[0], 40_000);
      lab.progress(`log lines: ${refused.slice(0, 300)}\n${md5.slice(0, 300)}`);
      expect(md5).toContain('192.0.2.1');
      expect(md5).toMatch(/MD5/);
      // Meanwhile: the good session never flapped and the routes stay.
      const now = peer();
      expect(now.bgpState).toBe('Established');
      expect(now.bgpTimerUpEstablishedEpoch).toBe(establishedAt);
      expect(kernelNextHops(lab.rt, webVip)).toEqual(BOTH_V4);
      expect(lab.curl(webVip)?.pod).toMatch(/^web-/);
    } finally {
      lab.k(['-n', 'metallb-system', 'delete', 'bgppeers.metallb.io', 'nobody-listens', 'bad-password']);
    }
  }, 120_000);

  test('BFD (100 ms x 3): up for each node at the router; node link down => next hop dropped well under the 90 s hold time', async () => {
    await bfdCheck(lab, () => {
      const peers = JSON.parse(vtysh('show bfd peers json').out) as { peer: string; status: string }[];
      return BOTH_V4.every((n) => peers.some((p) => p.peer === n && p.status === 'up'));
    }, webVip);
  }, 120_000);
});

const BFD_PROFILE = `apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata: {name: fast, namespace: metallb-system}
spec: {receiveInterval: 100, transmitInterval: 100, detectMultiplier: 3}
`;

async function bfdCheck(lab: Lab, routerShowsBfdUp: () => boolean, vip: string): Promise<void> {
  lab.apply(BFD_PROFILE);
  lab.k(['-n', 'metallb-system', 'patch', 'bgppeers.metallb.io', 'lab-router', '--type', 'merge', '-p', '{"spec":{"bfdProfile":"fast"}}']);
  await waitFor('the router shows BFD up with both nodes', routerShowsBfdUp, 60_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${sh(lab.state.router?.commands.bfd ?? 'true').out}`);
  });
  await lab.waitHops(vip, BOTH_V4, 60_000);
  const n2 = lab.nodeNs('lab-node-2');
  const t0 = Date.now();
  sh(`ip -n ${n2} link set eth0 down`);
  try {
    await lab.waitHops(vip, ['192.0.2.11'], 20_000);
    const ms = Date.now() - t0;
    lab.progress(`BFD: lab-node-2 link down -> its next hop gone at the router: ${ms} ms`);
    expect(ms).toBeLessThan(5_000); // hold time is 90 s; BFD detects in 300 ms + the daemon's reaction
  } finally {
    sh(`ip -n ${n2} link set eth0 up`);
  }
  await lab.waitHops(vip, BOTH_V4, 60_000);
}

describe('speaker against BIRD (eBGP): smoke set and BFD', () => {
  const lab = bgpLab('bird');
  let vip = '';
  test('Cluster: VIP, ECMP via both nodes, client traffic, ServiceBGPStatus', async () => {
    vip = await clusterSmoke(lab);
  }, 150_000);
  test('IPv6 Service over an IPv6 session: ECMP at the router, reachable from the client', async () => {
    await ipv6Smoke(lab, 64513, 64512);
  }, 60_000);
  test('BFD (100 ms x 3): up for each node at the router; node link down => next hop dropped fast', async () => {
    expect(vip).not.toBe('');
    await bfdCheck(lab, () => {
      const out = sh(lab.state.router?.commands.bfd as string).out;
      return BOTH_V4.every((n) => new RegExp(`^${n.replace(/\./g, '\\.')}\\s+\\S+\\s+Up\\b`, 'm').test(out));
    }, vip);
  }, 120_000);
});

describe('speaker against GoBGP (eBGP): smoke set', () => {
  const lab = bgpLab('gobgp');
  test('Cluster: VIP, ECMP via both nodes, client traffic, ServiceBGPStatus', async () => {
    await clusterSmoke(lab);
    const sessions = sh(lab.state.router?.commands.sessions as string).out;
    expect(sessions.match(/192\.0\.2\.1[12] .*Establ/g)?.length).toBe(2);
  }, 150_000);
  test('IPv6 Service over an IPv6 session: ECMP at the router, reachable from the client', async () => {
    await ipv6Smoke(lab, 64513, 64512);
  }, 60_000);
});
