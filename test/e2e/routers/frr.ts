// FRR in a namespace: zebra, bfdd (when a neighbour wants BFD) and bgpd in the foreground, as
// user frr (FRR refuses root: "user(root) is not part of vty group"), so their directory is
// owned by frr and every parent directory must be traversable.
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from '../../../src/lab/network.js';
import { tryInNs } from './netns.js';
import { DEFAULT_HOLD, DEFAULT_KEEPALIVE, familyOf, readLog, runningPids, startDaemon, stopDaemons, waitForPath } from './daemon.js';
import type { RibRoute, RouterSpec, RunningRouter, SessionState } from './types.js';
import type { NamespacedProcess } from '../../../src/lab/network.js';

const FRR = '/usr/lib/frr';

export function frrBgpdConfig(spec: RouterSpec, dir: string): string {
  const l = [`hostname bgpd`, `log file ${join(dir, 'bgpd.log')}`, `router bgp ${spec.asn}`, ` bgp router-id ${spec.routerId}`, ' no bgp ebgp-requires-policy', ' no bgp network import-check', ' no bgp default ipv4-unicast'];
  for (const n of spec.neighbors) {
    l.push(` neighbor ${n.address} remote-as ${n.asn}`);
    l.push(` neighbor ${n.address} timers ${n.keepaliveTime ?? DEFAULT_KEEPALIVE} ${n.holdTime ?? DEFAULT_HOLD}`);
    l.push(` neighbor ${n.address} timers connect 2`);
    if (n.port) l.push(` neighbor ${n.address} port ${n.port}`);
    if (n.passive) l.push(` neighbor ${n.address} passive`);
    if (n.md5Password) l.push(` neighbor ${n.address} password ${n.md5Password}`);
    if (n.multihop) l.push(` neighbor ${n.address} ebgp-multihop ${n.multihop === true ? 255 : n.multihop}`);
    if (n.bfd) l.push(` neighbor ${n.address} bfd`);
    if (n.gracefulRestart) l.push(` neighbor ${n.address} graceful-restart`);
    if (spec.localAddress && familyOf(spec.localAddress) === familyOf(n.address)) l.push(` neighbor ${n.address} update-source ${spec.localAddress}`);
  }
  for (const family of ['ipv4', 'ipv6'] as const) {
    const members = spec.neighbors.filter((n) => (n.families ?? [familyOf(n.address)]).includes(family));
    if (members.length === 0) continue;
    l.push(` address-family ${family} unicast`);
    if (spec.installRoutes !== false) l.push('  maximum-paths 16');
    for (const n of members) l.push(`  neighbor ${n.address} activate`);
    l.push(' exit-address-family');
  }
  l.push('exit');
  return l.join('\n') + '\n';
}

function frrOwned(dir: string): void {
  const uid = Number(run('id', ['-u', 'frr']).trim());
  const gid = Number(run('id', ['-g', 'frr']).trim());
  mkdirSync(dir, { recursive: true });
  chownSync(dir, uid, gid);
  // mkdtemp parents are 0700: let frr traverse them (not list or write).
  for (let p = dirname(dir); p !== '/' && p !== '/tmp'; p = dirname(p)) chmodSync(p, 0o711);
  return;
}

export async function startFrr(spec: RouterSpec): Promise<RunningRouter> {
  const dir = spec.dir;
  frrOwned(dir);
  const withBfd = spec.neighbors.some((n) => n.bfd);
  const api = join(dir, 'zserv.api');
  const common = ['--vty_socket', dir, '-z', api, '-P', '0'];
  const write = (name: string, text: string): string => {
    const f = join(dir, name);
    writeFileSync(f, text);
    chownSync(f, Number(run('id', ['-u', 'frr']).trim()), Number(run('id', ['-g', 'frr']).trim()));
    return f;
  };
  const procs: NamespacedProcess[] = [];
  try {
    const zebraConf = write('zebra.conf', `hostname zebra\nlog file ${join(dir, 'zebra.log')}\n`);
    const zebra = startDaemon(spec.ns, 'zebra', `${FRR}/zebra`, ['-f', zebraConf, '-i', join(dir, 'zebra.pid'), ...common], join(dir, 'zebra.stdout'));
    procs.push(zebra);
    await waitForPath(api, `FRR zebra in ${spec.ns}`, zebra);
    if (withBfd) {
      const bfdConf = write('bfdd.conf', `hostname bfdd\nlog file ${join(dir, 'bfdd.log')}\n`);
      const bfdd = startDaemon(spec.ns, 'bfdd', `${FRR}/bfdd`, ['-f', bfdConf, '-i', join(dir, 'bfdd.pid'), '--bfdctl', join(dir, 'bfdd.sock'), ...common], join(dir, 'bfdd.stdout'));
      procs.push(bfdd);
      await waitForPath(join(dir, 'bfdd.vty'), `FRR bfdd in ${spec.ns}`, bfdd);
    }
    const bgpdConf = write('bgpd.conf', frrBgpdConfig(spec, dir));
    const bgpd = startDaemon(spec.ns, 'bgpd', `${FRR}/bgpd`, ['-f', bgpdConf, '-i', join(dir, 'bgpd.pid'), ...common], join(dir, 'bgpd.stdout'));
    procs.push(bgpd);
    await waitForPath(join(dir, 'bgpd.vty'), `FRR bgpd in ${spec.ns}`, bgpd);
  } catch (e) {
    await stopDaemons(procs);
    throw e;
  }
  const vtysh = (cmd: string): string => {
    const r = tryInNs(spec.ns, '/usr/bin/vtysh', ['--vty_socket', dir, '-c', cmd]);
    if (r.code !== 0) throw new Error(`vtysh -c '${cmd}' in ${spec.ns}: ${r.err || r.out}`);
    return r.out;
  };
  return {
    kind: 'frr',
    spec,
    pids: () => runningPids(procs),
    sessionState(neighbor) {
      try {
        const j = JSON.parse(vtysh(`show bgp neighbors ${neighbor} json`)) as Record<string, { bgpState?: string }>;
        return (j[neighbor]?.bgpState?.toLowerCase() as SessionState | undefined) ?? 'unknown';
      } catch {
        return 'unknown';
      }
    },
    rib(family) {
      const table = JSON.parse(vtysh(`show bgp ${family} unicast json`)) as { routes?: Record<string, unknown> };
      return Object.keys(table.routes ?? {}).flatMap((prefix) => {
        const detail = JSON.parse(vtysh(`show bgp ${family} unicast ${prefix} json`)) as { paths?: FrrPath[] };
        return parseFrrPaths(prefix, detail.paths ?? []);
      });
    },
    announce() {
      throw new Error('FRR harness: announce() is not implemented; originate routes from a GoBGP router');
    },
    logText: () => ['zebra', 'bfdd', 'bgpd'].map((d) => readLog(join(dir, `${d}.log`))).join('\n'),
    stop: () => stopDaemons(procs),
  };
}

interface FrrPath {
  aspath?: { string?: string; segments?: { list?: number[] }[] };
  locPrf?: number;
  localpref?: number;
  community?: { string?: string };
  largeCommunity?: { string?: string };
  nexthops?: { ip?: string; used?: boolean }[];
  bestpath?: { overall?: boolean };
  multipath?: boolean;
}

/** Best path plus multipath siblings of one prefix, from `show bgp <afi> unicast <prefix> json`. */
export function parseFrrPaths(prefix: string, paths: readonly FrrPath[]): RibRoute[] {
  const best = paths.find((p) => p.bestpath?.overall);
  if (!best) return [];
  const chosen = paths.filter((p) => p === best || p.multipath);
  const asPath = best.aspath?.segments?.flatMap((s) => s.list ?? []) ?? (best.aspath?.string ?? '').split(/\s+/).filter((x) => /^\d+$/.test(x)).map(Number);
  const lp = best.locPrf ?? best.localpref;
  return [
    {
      prefix,
      nextHops: [...new Set(chosen.flatMap((p) => (p.nexthops ?? []).filter((n) => n.used !== false).flatMap((n) => (n.ip ? [n.ip] : []))))],
      asPath,
      ...(lp !== undefined ? { localPref: lp } : {}),
      communities: (best.community?.string ?? '').split(/\s+/).filter(Boolean),
      largeCommunities: (best.largeCommunity?.string ?? '').split(/\s+/).filter(Boolean),
    },
  ];
}
