// The node's kernel interface list as discovery needs it (name, up, master, IPv6 link-local,
// 802.1Q parent/VID), read with `ip -j -d address show` (iproute2's JSON output).
import { execFile } from 'node:child_process';
import type { KernelInterface } from './resolve.js';

interface IpAddressJson {
  ifname?: unknown;
  flags?: unknown;
  master?: unknown;
  address?: unknown;
  link?: unknown;
  linkinfo?: { info_kind?: unknown; info_data?: { id?: unknown } };
  addr_info?: { family?: unknown; scope?: unknown }[];
}

/** Parses `ip -j -d address show` output; entries without a name are skipped. Pure. */
export function parseIpAddressJson(text: string): KernelInterface[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new Error('ip -j address show: expected a JSON array');
  const out: KernelInterface[] = [];
  for (const raw of parsed as IpAddressJson[]) {
    if (typeof raw?.ifname !== 'string') continue;
    const flags = Array.isArray(raw.flags) ? raw.flags.filter((f): f is string => typeof f === 'string') : [];
    const vlanId = raw.linkinfo?.info_kind === 'vlan' ? raw.linkinfo.info_data?.id : undefined;
    out.push({
      name: raw.ifname,
      up: flags.includes('UP'),
      lowerUp: flags.includes('LOWER_UP'),
      ...(typeof raw.master === 'string' ? { master: raw.master } : {}),
      hasIPv6LinkLocal: (raw.addr_info ?? []).some((a) => a.family === 'inet6' && a.scope === 'link'),
      ...(typeof raw.address === 'string' ? { mac: raw.address } : {}),
      ...(typeof vlanId === 'number' && typeof raw.link === 'string' ? { vlan: { id: vlanId, parent: raw.link } } : {}),
    });
  }
  return out;
}

/** Reads the interfaces of this process's network namespace, or of `netns` (via `ip -n`). */
export function readKernelInterfaces(netns?: string): Promise<KernelInterface[]> {
  const args = [...(netns ? ['-n', netns] : []), '-j', '-d', 'address', 'show'];
  return new Promise((resolve, reject) => {
    execFile('ip', args, { encoding: 'utf8', maxBuffer: 16 << 20, timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`ip ${args.join(' ')}: ${(stderr || err.message).trim()}`));
        return;
      }
      try {
        resolve(parseIpAddressJson(stdout));
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}
