// `lab up --router bird|frr|gobgp` with real daemons: per daemon, a 2-node lab of its own. The
// router runs in its namespace with a configuration that parsed, the client sits behind it and
// reaches the nodes through it, the router only listens (never dials), and — with GoBGP in each
// node namespace standing in for the speaker — both nodes' announcements of 203.0.113.10/32 land
// in the router's kernel table as one ECMP route the client can reach. `lab down` leaves no
// namespace, process or runtime directory.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { kubectl, labDown, labUp, summarize, type LabState, type LabSummary } from '../../src/lab/lab.js';
import { labNamespaces, pidsInNamespace, startInNamespace, waitExecuted, type NamespacedProcess } from '../../src/lab/network.js';
import { isRunning, stopProcess } from '../../src/lab/processes.js';
import type { RouterKind } from '../../src/lab/router.js';
import { waitFor } from './harness.js';

const VIP = '203.0.113.10';

function inNs(ns: string, command: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, ...command], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}

function sh(command: string): { code: number | null; out: string; err: string } {
  const r = spawnSync('sh', ['-c', command], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}

function ping(ns: string, ip: string): boolean {
  return inNs(ns, ['ping', '-c', '1', '-W', '1', '-q', ip]).code === 0;
}

/** Next hops of the router's kernel route to `prefix` (ECMP entries expanded), sorted. */
function kernelNextHops(ns: string, prefix: string): string[] {
  const r = inNs(ns, ['ip', '-j', '-4', 'route', 'show', prefix]);
  const routes = JSON.parse(r.out || '[]') as { gateway?: string; nexthops?: { gateway?: string }[] }[];
  return routes.flatMap((x) => (x.nexthops ? x.nexthops.flatMap((n) => (n.gateway ? [n.gateway] : [])) : x.gateway ? [x.gateway] : [])).sort();
}

/** GoBGP in a node namespace as the stand-in speaker: dials the router, announces the VIP. */
function standInConfig(nodeAddress: string): string {
  return [
    '[global.config]', '  as = 64513', `  router-id = "${nodeAddress}"`, '  port = -1', `  local-address-list = ["${nodeAddress}"]`,
    '[[neighbors]]', '  [neighbors.config]', '    neighbor-address = "192.0.2.1"', '    peer-as = 64512',
    '  [neighbors.timers.config]', '    hold-time = 9', '    keepalive-interval = 3', '    connect-retry = 2',
    '  [neighbors.transport.config]', `    local-address = "${nodeAddress}"`,
  ].join('\n') + '\n';
}

for (const kind of ['bird', 'frr', 'gobgp'] as const satisfies readonly RouterKind[]) {
  describe(`lab up --router ${kind}`, () => {
    // Made in beforeAll: a describe filtered out by -t runs neither hook, so it must not leave a directory.
    let parent = '';
    let dir = '';
    const progress = (l: string) => process.stderr.write(`[labRouter ${kind}] ${l}\n`);
    let state: LabState;
    let lab: LabSummary;
    const standIns: NamespacedProcess[] = [];

    beforeAll(async () => {
      parent = mkdtempSync(join(tmpdir(), `ironlb-labrouter-${kind}-`));
      dir = join(parent, 'lab');
      state = await labUp({ dir, progress, nodes: 2, speakers: false, controller: false, router: kind });
      lab = summarize(state);
    }, 300_000);

    afterAll(async () => {
      for (const p of standIns) await stopProcess(p, 2000);
      if (dir) await labDown(dir, progress);
      if (parent) rmSync(parent, { recursive: true, force: true });
    }, 120_000);

    test('lab up --json names the router: kind, namespace, ASNs, addresses, query commands; its daemons run in its namespace', () => {
      const prefix = lab.namespaces?.switch.replace(/sw$/, '') ?? '';
      const r = lab.router;
      expect(r).toBeDefined();
      if (!r) return;
      expect(lab.namespaces?.router).toBe(`${prefix}rt`);
      expect(r).toMatchObject({
        kind, namespace: `${prefix}rt`, asn: 64512, nodeAsn: 64513,
        addresses: { lan: ['192.0.2.1', '2001:db8:1::1'], clientLink: ['198.51.100.1', '2001:db8:3::1'] },
        clientLink: ['198.51.100.0/28', '2001:db8:3::/64'],
        neighbors: [{ node: 'lab-node-1', addresses: ['192.0.2.11', '2001:db8:1::11'] }, { node: 'lab-node-2', addresses: ['192.0.2.12', '2001:db8:1::12'] }],
      });
      expect(lab.addresses?.client).toEqual(['198.51.100.2', '2001:db8:3::2']);
      expect(lab.lan?.clientOnLink).toEqual([]);
      expect(labNamespaces(prefix).sort()).toEqual([`${prefix}client`, `${prefix}n1`, `${prefix}n2`, `${prefix}rt`, `${prefix}sw`]);
      const inRouter = pidsInNamespace(r.namespace);
      for (const name of r.processes) {
        const p = lab.processes.find((x) => x.name === name);
        expect(p, name).toBeDefined();
        expect(p?.running, name).toBe(true);
        expect(p?.netns).toBe(r.namespace);
        expect(inRouter).toContain(p?.pid);
      }
      for (const f of r.configFiles) expect(existsSync(f), f).toBe(true);
      // The printed commands work as printed.
      for (const [what, command] of Object.entries(r.commands)) {
        const res = sh(command);
        expect(res.code, `${what}: ${command}\n${res.err}`).toBe(0);
      }
    });

    test('the default BGPPeer lab-router, pool 203.0.113.0/24 and its BGPAdvertisement are applied', () => {
      const peer = JSON.parse(kubectl(state, ['-n', 'metallb-system', 'get', 'bgppeers.metallb.io', 'lab-router', '-o', 'json'])) as { spec: Record<string, unknown> };
      expect(peer.spec).toMatchObject({ myASN: 64513, peerASN: 64512, peerAddress: '192.0.2.1' });
      const pool = JSON.parse(kubectl(state, ['-n', 'metallb-system', 'get', 'ipaddresspools.metallb.io', 'lab-bgp', '-o', 'json'])) as { spec: { addresses: string[] } };
      expect(pool.spec.addresses).toEqual(['203.0.113.0/24']);
      const adv = JSON.parse(kubectl(state, ['-n', 'metallb-system', 'get', 'bgpadvertisements.metallb.io', 'lab-bgp', '-o', 'json'])) as { spec: { ipAddressPools: string[] } };
      expect(adv.spec.ipAddressPools).toEqual(['lab-bgp']);
    });

    test('the client is behind the router: default routes via it, nodes reached through it (IPv4 and IPv6)', () => {
      const client = lab.namespaces?.client as string;
      const addrs = JSON.parse(inNs(client, ['ip', '-j', 'addr', 'show', 'dev', 'eth0']).out)[0].addr_info
        .filter((a: { scope: string }) => a.scope === 'global').map((a: { local: string }) => a.local);
      expect(addrs).toEqual(['198.51.100.2', '2001:db8:3::2']);
      expect(inNs(client, ['ip', 'route', 'show', 'default']).out).toContain('via 198.51.100.1');
      expect(inNs(client, ['ip', '-6', 'route', 'show', 'default']).out).toContain('via 2001:db8:3::1');
      for (const ip of ['192.0.2.1', '192.0.2.11', '192.0.2.12', '2001:db8:1::11', '2001:db8:1::12']) expect(ping(client, ip), ip).toBe(true);
      // Really routed: the first hop is the router.
      expect(inNs(client, ['ping', '-c', '1', '-W', '1', '-t', '1', '192.0.2.11']).code).not.toBe(0);
    });

    test('the router listens on port 179 and never dials a node (passive)', async () => {
      const ns = lab.router?.namespace as string;
      await waitFor('a listener on :179 in the router namespace', () => inNs(ns, ['ss', '-Htln', 'sport = :179']).out.trim() !== '');
      // A few seconds without speakers: no connection attempt to any node's port 179.
      for (let i = 0; i < 10; i++) {
        expect(inNs(ns, ['ss', '-Htn', 'dport = :179']).out.trim()).toBe('');
        await new Promise((r) => setTimeout(r, 300));
      }
    });

    test('stand-in speakers (GoBGP) on both nodes announce 203.0.113.10/32: the router installs one ECMP route and the client reaches the VIP', async () => {
      const rt = lab.router?.namespace as string;
      for (const [name, node] of Object.entries(lab.nodes ?? {})) {
        const address = node.addresses[0] as string;
        inNs(node.namespace, ['ip', 'addr', 'add', `${VIP}/32`, 'dev', 'lo']);
        const conf = join(parent, `${name}-gobgpd.toml`);
        writeFileSync(conf, standInConfig(address));
        const p = startInNamespace(node.namespace, `stand-in@${name}`, '/usr/bin/gobgpd',
          ['-f', conf, '--api-hosts', '127.0.0.1:50051', '--pprof-disable', '-p'], join(parent, `${name}-gobgpd.log`));
        standIns.push(p);
        await waitExecuted(p);
        await waitFor(`gobgpd API in ${node.namespace}`, () => inNs(node.namespace, ['gobgp', 'global']).code === 0, 10_000);
        const add = inNs(node.namespace, ['gobgp', 'global', 'rib', '-a', 'ipv4', 'add', `${VIP}/32`, 'origin', 'igp']);
        expect(add.code, add.err).toBe(0);
      }
      const hops = await waitFor('an ECMP route to the VIP via both nodes in the router\'s kernel table',
        () => { const h = kernelNextHops(rt, VIP); return h.length === 2 ? h : undefined; }, 60_000)
        .catch((e: Error) => { throw new Error(`${e.message}\nrouter: ${sh(lab.router?.commands.sessions ?? 'true').out}\n${standIns.map((p) => readFileSync(p.log, 'utf8').slice(-1500)).join('\n')}`); });
      expect(hops).toEqual(['192.0.2.11', '192.0.2.12']);
      // The router's own view agrees (sessions established with both nodes).
      const sessions = sh(lab.router?.commands.sessions as string).out;
      if (kind === 'bird') expect(sessions.match(/node[12]_v4 .*Established/g)?.length).toBe(2);
      if (kind === 'gobgp') expect(sessions.match(/192\.0\.2\.1[12] .*Establ/g)?.length).toBe(2);
      if (kind === 'frr') {
        // `show bgp summary`: an established row ends in received/sent prefix counts, others show the state.
        const rows = sessions.split('\n').filter((l) => /^192\.0\.2\.1[12]\s/.test(l));
        expect(rows.length, sessions).toBe(2);
        for (const row of rows) expect(row).not.toMatch(/Idle|Active|Connect|OpenSent|OpenConfirm/);
      }
      const client = lab.namespaces?.client as string;
      expect(ping(client, VIP)).toBe(true);
      // Withdrawn by one node: the route keeps the other next hop only.
      const n1 = lab.nodes?.['lab-node-1']?.namespace as string;
      expect(inNs(n1, ['gobgp', 'global', 'rib', '-a', 'ipv4', 'del', `${VIP}/32`]).code).toBe(0);
      await waitFor('the VIP route to shrink to lab-node-2', () => kernelNextHops(rt, VIP).join() === '192.0.2.12', 30_000);
      expect(ping(client, VIP)).toBe(true);
    });

    test('lab down leaves no namespace, no router process, no runtime directory', async () => {
      const prefix = lab.namespaces?.switch.replace(/sw$/, '') ?? '';
      const routerPids = lab.processes.filter((p) => lab.router?.processes.includes(p.name));
      expect(routerPids.length).toBeGreaterThan(0);
      await labDown(dir, progress);
      expect(labNamespaces(prefix)).toEqual([]);
      for (const p of [...routerPids.map((x) => ({ pid: x.pid, command: state.processes.find((s) => s.pid === x.pid)?.command ?? '' })), ...standIns]) {
        expect(isRunning(p), String(p.pid)).toBe(false);
      }
      expect(existsSync(lab.router?.dir as string)).toBe(false);
      expect(existsSync(dir)).toBe(false);
    });
  });
}
