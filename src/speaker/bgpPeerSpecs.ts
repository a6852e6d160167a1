// Pure: the BGP sessions this node opens, from the BGPPeers selected for it (bgpAnnouncements.ts).
// Peers the native speaker cannot open (dynamicASN, unnumbered `interface`) are skipped with the
// reason; the parser already warned about them on the BGPPeer.
import type { BGPPeer, Config } from '../config/model.js';
import type { PeerSessionSpec } from './bgp/peerSession.js';

export interface PeerSpecsResult {
  readonly specs: readonly PeerSessionSpec[];
  readonly skipped: readonly { readonly peer: string; readonly reason: string }[];
}

export function peerSessionSpecs(peers: readonly BGPPeer[], config: Config): PeerSpecsResult {
  const specs: PeerSessionSpec[] = [];
  const skipped: { peer: string; reason: string }[] = [];
  for (const p of peers) {
    if (!p.peerAddress) {
      skipped.push({ peer: p.name, reason: 'spec.interface (unnumbered BGP) is not supported by the native speaker; set spec.peerAddress' });
      continue;
    }
    if (p.peerASN === undefined) {
      skipped.push({ peer: p.name, reason: 'spec.dynamicASN is not supported by the native speaker; set spec.peerASN' });
      continue;
    }
    const bfd = p.bfdProfile ? config.bfdProfiles.get(p.bfdProfile) : undefined;
    specs.push({
      name: p.name,
      peerAddress: p.peerAddress,
      peerPort: p.peerPort,
      peerAsn: p.peerASN,
      localAsn: p.myASN,
      ...(p.routerID ? { routerId: p.routerID } : {}),
      ...(p.sourceAddress ? { sourceAddress: p.sourceAddress } : {}),
      // The parser already applied MetalLB's default (90 s); 0 means no keepalives.
      holdTime: p.holdTime,
      ...(p.password ? { password: p.password } : {}),
      ebgpMultiHop: p.ebgpMultiHop,
      gracefulRestart: p.enableGracefulRestart,
      ...(bfd ? { bfd } : {}),
    });
  }
  return { specs, skipped };
}
