// `ironlb lab gobgp-routes`: gobgpd keeps routes in its RIB only, so this loop, running inside the
// router namespace, mirrors the RIB into the kernel: every prefix becomes one route (`proto bgp`)
// whose next hops are all paths equal to the best one in origin, AS-path length and local
// preference (what BIRD's `merge paths` and FRR's maximum-paths do). Stale paths (graceful
// restart of a speaker) stay until gobgpd drops them. If the API does not answer, the kernel is
// left alone, so a gobgpd restart does not flush forwarding.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { GOBGP } from './gobgp.js';

const exec = promisify(execFile);

interface GobgpAttr {
  type: number;
  value?: unknown;
  as_paths?: { asns?: number[] }[];
  nexthop?: string;
  nexthops?: string[];
}
interface GobgpPath {
  attrs?: GobgpAttr[];
  best?: boolean;
  withdrawal?: boolean;
}

/** prefix -> sorted next hops; pure. `text` is `gobgp global rib -a <family> -j`. */
export function kernelRoutesFromGobgpRib(text: string): Map<string, string[]> {
  const routes = new Map<string, string[]>();
  const trimmed = text.trim();
  if (!trimmed || trimmed === 'null') return routes;
  const table = JSON.parse(trimmed) as Record<string, GobgpPath[] | null>;
  for (const [prefix, paths] of Object.entries(table)) {
    const live = (paths ?? []).filter((p) => !p.withdrawal);
    const best = live.find((p) => p.best) ?? live[0];
    if (!best) continue;
    const rank = pathRank(best);
    const hops = new Set<string>();
    for (const p of live) {
      if (pathRank(p) !== rank) continue;
      const hop = nextHop(p);
      if (hop) hops.add(hop);
    }
    if (hops.size) routes.set(prefix, [...hops].sort());
  }
  return routes;
}

function pathRank(p: GobgpPath): string {
  const attrs = p.attrs ?? [];
  const at = (t: number) => attrs.find((a) => a.type === t);
  const origin = at(1)?.value ?? 0;
  const asLen = (at(2)?.as_paths ?? []).reduce((n, s) => n + (s.asns?.length ?? 0), 0);
  const localPref = at(5)?.value ?? 100;
  return `${String(origin)}/${asLen}/${String(localPref)}`;
}

function nextHop(p: GobgpPath): string | undefined {
  const attrs = p.attrs ?? [];
  const mp = attrs.find((a) => a.type === 14);
  return attrs.find((a) => a.type === 3)?.nexthop ?? mp?.nexthop ?? mp?.nexthops?.[0];
}

/** The `ip route` arguments that install one mirrored route. */
export function ipRouteReplaceArgs(prefix: string, hops: readonly string[]): string[] {
  const family = prefix.includes(':') ? '-6' : '-4';
  const via = hops.length === 1 ? ['via', hops[0] as string] : hops.flatMap((h) => ['nexthop', 'via', h]);
  return [family, 'route', 'replace', prefix, 'proto', 'bgp', ...via];
}

interface KernelRoute { dst: string; gateway?: string; nexthops?: { gateway?: string }[] }

async function kernelRoutes(family: '-4' | '-6'): Promise<Map<string, string[]>> {
  const { stdout } = await exec('ip', ['-j', family, 'route', 'show', 'proto', 'bgp']);
  const list = JSON.parse(stdout.trim() || '[]') as KernelRoute[];
  const bits = family === '-4' ? 32 : 128;
  return new Map(list.map((r) => [
    r.dst.includes('/') ? r.dst : `${r.dst}/${bits}`,
    (r.nexthops ? r.nexthops.flatMap((n) => (n.gateway ? [n.gateway] : [])) : r.gateway ? [r.gateway] : []).sort(),
  ]));
}

export interface GobgpRouteMirrorOptions {
  apiHost: string;
  apiPort: number;
  intervalMs: number;
  log: (line: string) => void;
}

/** One pass: returns how many kernel routes it changed, or undefined when the API did not answer. */
export async function mirrorOnce(opts: GobgpRouteMirrorOptions): Promise<number | undefined> {
  let changed = 0;
  for (const [family, flag] of [['ipv4', '-4'], ['ipv6', '-6']] as const) {
    let rib: string;
    try {
      rib = (await exec(GOBGP, ['-u', opts.apiHost, '-p', String(opts.apiPort), 'global', 'rib', '-a', family, '-j'])).stdout;
    } catch {
      return undefined;
    }
    const want = kernelRoutesFromGobgpRib(rib);
    const have = await kernelRoutes(flag);
    for (const [prefix, hops] of want) {
      if (have.get(prefix)?.join() === hops.join()) continue;
      await exec('ip', ipRouteReplaceArgs(prefix, hops));
      opts.log(`installed ${prefix} via ${hops.join(', ')}`);
      changed++;
    }
    for (const prefix of have.keys()) {
      if (want.has(prefix)) continue;
      await exec('ip', [flag, 'route', 'del', prefix, 'proto', 'bgp']).catch(() => undefined);
      opts.log(`removed ${prefix}`);
      changed++;
    }
  }
  return changed;
}

/** Runs until SIGTERM; logs when the API stops or starts answering. */
export async function runGobgpRouteMirror(opts: GobgpRouteMirrorOptions): Promise<void> {
  let stop = false;
  process.once('SIGTERM', () => { stop = true; });
  process.once('SIGINT', () => { stop = true; });
  let answering: boolean | undefined;
  opts.log(`mirroring gobgpd ${opts.apiHost}:${opts.apiPort} RIB into the kernel every ${opts.intervalMs} ms`);
  while (!stop) {
    let ok: boolean;
    try {
      ok = (await mirrorOnce(opts)) !== undefined;
    } catch (e) {
      opts.log(`error: ${(e as Error).message}`);
      ok = true;
    }
    if (ok !== answering) opts.log(ok ? 'gobgpd API answering' : 'gobgpd API not answering; kernel routes left as they are');
    answering = ok;
    await new Promise((r) => setTimeout(r, opts.intervalMs));
  }
  opts.log('stopped');
}
