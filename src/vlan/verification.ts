// The speaker's verification warnings for the underlay Services this node announces (spec
// kube-ovn-underlay.md 6.3 "Verification", "Host hygiene", "Dual stack"). Warnings only: nothing
// here stops an announcement. Pure: the clock, the Service annotations and the host's sysctl/link
// facts come in (src/speaker/underlay.ts reads them).
import type { ResolveWarning } from './resolve.js';

/** Kube-OVN sets it on a Service once it has bound the Service's external IP to a subnet. */
export const SUBNET_ANNOTATION = 'ovn.kubernetes.io/service_external_ip_from_subnet';
/** Spec 6.3: Kube-OVN should have programmed the VIP within 30 s of our first announcement. */
export const DEFAULT_VERIFY_AFTER_MS = 30_000;

export type UnderlayWarningReason = 'KubeOVNNotProgrammed' | 'LocalnetPortMissing' | 'NoIPv6LinkLocal' | 'StrictARPRequired';

export interface UnderlayWarning {
  readonly reason: UnderlayWarningReason;
  readonly message: string;
}

export interface AnnouncedUnderlayService {
  readonly service: string; // ns/name
  readonly ips: readonly string[];
  /** The candidate underlay Subnet holding the IPs. */
  readonly subnet: string;
  /** Value of SUBNET_ANNOTATION on the Service, if any. */
  readonly subnetAnnotation: string | undefined;
  /** When this node started announcing these IPs for this subnet (ms, same clock as nowMs). */
  readonly announcingSinceMs: number;
}

/** What the node's own network namespace says about kube-proxy IPVS and ARP. */
export interface HostArpFacts {
  /** The kube-ipvs0 dummy device exists (kube-proxy in IPVS mode binds every Service IP to it). */
  readonly kubeIpvs0: boolean;
  /** net.ipv4.conf.all.arp_ignore as read; undefined when unreadable. */
  readonly arpIgnore: string | undefined;
}

export interface VerificationInput {
  readonly nodeName: string;
  readonly nowMs: number;
  readonly verifyAfterMs: number;
  readonly services: readonly AnnouncedUnderlayService[];
  /** Warnings of this node's announce interface for a subnet (resolve.ts: LocalnetPortMissing, NoIPv6LinkLocal). */
  readonly interfaceWarnings: (subnet: string) => readonly ResolveWarning[];
  readonly host: HostArpFacts | undefined;
}

export interface VerificationResult {
  /** Service -> its warnings now (absent: none). */
  readonly byService: ReadonlyMap<string, readonly UnderlayWarning[]>;
  /** The earliest time a KubeOVNNotProgrammed check falls due; the caller re-runs then. */
  readonly nextCheckAtMs: number | undefined;
}

/** KubeOVNNotProgrammed once verifyAfterMs have passed without Kube-OVN's annotation naming the subnet. */
export function kubeOvnNotProgrammed(s: AnnouncedUnderlayService, nowMs: number, verifyAfterMs: number): UnderlayWarning | 'wait' | undefined {
  if (s.subnetAnnotation === s.subnet) return undefined;
  if (nowMs - s.announcingSinceMs < verifyAfterMs) return 'wait';
  return {
    reason: 'KubeOVNNotProgrammed',
    message: `Kube-OVN did not associate ${s.ips.join(', ')} with subnet "${s.subnet}"; check that the IP is inside spec.cidrBlock and kube-ovn-controller is running`,
  };
}

/** StrictARPRequired: with kube-ipvs0 and arp_ignore != 1 every IPVS node answers ARP for the VIP too. */
export function strictArpRequired(nodeName: string, host: HostArpFacts | undefined): UnderlayWarning | undefined {
  if (!host?.kubeIpvs0 || host.arpIgnore === undefined || host.arpIgnore.trim() === '1') return undefined;
  return {
    reason: 'StrictARPRequired',
    message: `node ${nodeName}: kube-ipvs0 exists (kube-proxy in IPVS mode) and net.ipv4.conf.all.arp_ignore is ${host.arpIgnore.trim()}, so this node's kernel also answers ARP for the external IP; set strictARP: true in kube-proxy's IPVS configuration (arp_ignore=1, arp_announce=2)`,
  };
}

/** The warnings for every underlay Service this node announces, and when to look again. */
export function verifyUnderlayServices(input: VerificationInput): VerificationResult {
  const byService = new Map<string, UnderlayWarning[]>();
  let nextCheckAtMs: number | undefined;
  const hostWarning = strictArpRequired(input.nodeName, input.host);
  for (const s of input.services) {
    const warnings: UnderlayWarning[] = [];
    const programmed = kubeOvnNotProgrammed(s, input.nowMs, input.verifyAfterMs);
    if (programmed === 'wait') {
      const due = s.announcingSinceMs + input.verifyAfterMs;
      nextCheckAtMs = nextCheckAtMs === undefined ? due : Math.min(nextCheckAtMs, due);
    } else if (programmed) {
      warnings.push(programmed);
    }
    for (const w of input.interfaceWarnings(s.subnet)) warnings.push({ reason: w.reason, message: w.message });
    if (hostWarning) warnings.push(hostWarning);
    if (warnings.length) byService.set(s.service, warnings);
  }
  return { byService, nextCheckAtMs };
}
