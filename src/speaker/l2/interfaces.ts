// Which interfaces may answer ARP/NDP (spec 4.4): names not matching the exclusion list, UP,
// not enslaved to a bond/bridge (the master is used instead), not NOARP; ARP needs BROADCAST,
// NDP an IPv6 link-local address. The scan reads /sys/class/net and /proc/net/if_inet6 of the
// caller's network namespace; the eligibility rules are pure.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ipFromBytes } from '../../net/address.js';

// linux/if.h and linux/if_arp.h
const IFF_UP = 0x1;
const IFF_BROADCAST = 0x2;
const IFF_NOARP = 0x80;
const ARPHRD_ETHER = 1;
// linux/if_addr.h: an address whose duplicate address detection failed is unusable.
const IFA_F_DADFAILED = 0x08;
const IPV6_SCOPE_LINK = 0x20;

/**
 * MetalLB's default `announcedInterfacesToExclude` (manifests/excludel2.yaml): container,
 * bridge and tunnel devices. OR-ed, unanchored unless the pattern anchors itself.
 */
export const DEFAULT_EXCLUDED_INTERFACE_PATTERNS: readonly string[] = Object.freeze([
  '^docker.*', '^cbr.*', '^dummy.*', '^virbr.*', '^lxcbr.*', '^veth.*', '^lo$', '^cali.*',
  '^tunl.*', '^flannel.*', '^kube-ipvs.*', '^cni.*', '^nodelocaldns.*', '^lxc.*',
]);

/** What the kernel says about one interface. */
export interface NetInterface {
  readonly name: string;
  readonly ifindex: number;
  /** "aa:bb:cc:dd:ee:ff" (lower case). */
  readonly mac: string;
  /** IFF_* flags from /sys/class/net/<if>/flags. */
  readonly flags: number;
  /** ARPHRD_* from /sys/class/net/<if>/type (1 = Ethernet). */
  readonly hardwareType: number;
  /** Has a master (bond or bridge port). */
  readonly enslaved: boolean;
  /** A usable IPv6 link-local address (source of our NAs), if any. */
  readonly linkLocal: string | undefined;
}

export interface InterfaceEligibility {
  readonly arp: boolean;
  readonly ndp: boolean;
  /** Why neither responder runs (undefined when at least one does). */
  readonly reason: string | undefined;
}

/** One regular expression OR-ing the patterns; throws naming the bad pattern. */
export function compileExclusions(patterns: readonly string[]): RegExp | undefined {
  if (patterns.length === 0) return undefined;
  for (const p of patterns) {
    try {
      new RegExp(p);
    } catch (e) {
      throw new Error(`announcedInterfacesToExclude: pattern "${p}" is not a valid regular expression (${(e as Error).message}); fix or remove it`);
    }
  }
  return new RegExp(patterns.map((p) => `(?:${p})`).join('|'));
}

/**
 * Reads the `announcedInterfacesToExclude` list from the excludel2.yaml document MetalLB mounts
 * at /etc/metallb/excludel2.yaml. An empty or missing key means "exclude nothing".
 */
export function parseExcludeL2Yaml(text: string): string[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new Error(`excludel2.yaml: not valid YAML (${(e as Error).message}); it must hold "announcedInterfacesToExclude: [<regex>, ...]"`);
  }
  if (doc === null || doc === undefined) return [];
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error('excludel2.yaml: expected a mapping with key "announcedInterfacesToExclude"');
  const list = (doc as Record<string, unknown>).announcedInterfacesToExclude;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list) || list.some((p) => typeof p !== 'string')) {
    throw new Error('excludel2.yaml: "announcedInterfacesToExclude" must be a list of regular expression strings');
  }
  compileExclusions(list as string[]);
  return list as string[];
}

/** The rules of spec 4.4 for one interface. */
export function interfaceEligibility(iface: NetInterface, exclude: RegExp | undefined): InterfaceEligibility {
  const no = (reason: string): InterfaceEligibility => ({ arp: false, ndp: false, reason });
  if (exclude?.test(iface.name)) return no('excluded by announcedInterfacesToExclude');
  if (iface.hardwareType !== ARPHRD_ETHER) return no(`not Ethernet (hardware type ${iface.hardwareType})`);
  if ((iface.flags & IFF_UP) === 0) return no('down');
  if (iface.enslaved) return no('enslaved to a bond or bridge (its master answers)');
  if ((iface.flags & IFF_NOARP) !== 0) return no('NOARP');
  const arp = (iface.flags & IFF_BROADCAST) !== 0;
  const ndp = iface.linkLocal !== undefined;
  return { arp, ndp, reason: arp || ndp ? undefined : 'no BROADCAST flag and no IPv6 link-local address' };
}

/**
 * Link-local addresses per interface name from /proc/net/if_inet6 text
 * ("<32 hex> <ifindex> <prefixlen> <scope> <flags> <name>"). Addresses whose duplicate address
 * detection failed are skipped; tentative ones are kept (we build our frames ourselves, so a
 * tentative source address does not block sending, unlike a kernel socket).
 */
export function parseIfInet6(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6) continue;
    const [hex, , , scopeHex, flagsHex, name] = f as [string, string, string, string, string, string];
    if (!/^[0-9a-fA-F]{32}$/.test(hex)) continue;
    if (parseInt(scopeHex, 16) !== IPV6_SCOPE_LINK) continue;
    if ((parseInt(flagsHex, 16) & IFA_F_DADFAILED) !== 0) continue;
    if (out.has(name)) continue;
    const bytes = Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
    out.set(name, ipFromBytes(bytes));
  }
  return out;
}

export interface InterfaceSources {
  readonly sysClassNet: string;
  readonly procIfInet6: string;
}

const DEFAULT_SOURCES: InterfaceSources = { sysClassNet: '/sys/class/net', procIfInet6: '/proc/net/if_inet6' };

function readTrimmed(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined; // the interface vanished mid-scan
  }
}

/**
 * Lists the interfaces of this network namespace. `ip netns exec` remounts /sys, so
 * /sys/class/net shows the namespace's own devices; /proc/net follows the calling process.
 */
export function readInterfaces(sources: InterfaceSources = DEFAULT_SOURCES): NetInterface[] {
  let names: string[];
  try {
    names = readdirSync(sources.sysClassNet);
  } catch (e) {
    throw new Error(`cannot list network interfaces in ${sources.sysClassNet}: ${(e as Error).message}`);
  }
  let linkLocals = new Map<string, string>();
  try {
    linkLocals = parseIfInet6(readFileSync(sources.procIfInet6, 'utf8'));
  } catch {
    // IPv6 disabled: no NDP responders.
  }
  const out: NetInterface[] = [];
  for (const name of names.sort()) {
    const dir = join(sources.sysClassNet, name);
    const ifindex = Number(readTrimmed(join(dir, 'ifindex')));
    const flags = Number(readTrimmed(join(dir, 'flags')));
    const hardwareType = Number(readTrimmed(join(dir, 'type')));
    const mac = readTrimmed(join(dir, 'address'));
    if (!Number.isInteger(ifindex) || !Number.isInteger(flags) || !Number.isInteger(hardwareType) || mac === undefined) continue;
    out.push({ name, ifindex, mac: mac.toLowerCase(), flags, hardwareType, enslaved: existsSync(join(dir, 'master')), linkLocal: linkLocals.get(name) });
  }
  return out;
}
