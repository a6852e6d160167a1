// BGP session metrics under MetalLB's native-mode names (spec 5.5), labelled peer="addr:port".
import { Counter, Gauge, type Registry } from 'prom-client';

export class BgpMetrics {
  readonly sessionUp: Gauge<'peer'>;
  readonly updatesTotal: Counter<'peer'>;
  readonly announcedPrefixes: Gauge<'peer'>;
  readonly pendingPrefixes: Gauge<'peer'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.sessionUp = new Gauge({ name: 'metallb_bgp_session_up', help: 'BGP session state (1 = Established, 0 = not)', labelNames: ['peer'], registers });
    this.updatesTotal = new Counter({ name: 'metallb_bgp_updates_total', help: 'BGP UPDATE messages sent to the peer', labelNames: ['peer'], registers });
    this.announcedPrefixes = new Gauge({
      name: 'metallb_bgp_announced_prefixes_total',
      help: 'Prefixes currently advertised to the peer',
      labelNames: ['peer'],
      registers,
    });
    this.pendingPrefixes = new Gauge({
      name: 'metallb_bgp_pending_prefixes_total',
      help: 'Prefixes that should be advertised to the peer but are not (session down, or family/next hop missing)',
      labelNames: ['peer'],
      registers,
    });
  }

  /** Drops a peer's series when its session is removed (no stale label sets). */
  forget(peer: string): void {
    for (const m of [this.sessionUp, this.updatesTotal, this.announcedPrefixes, this.pendingPrefixes]) m.remove({ peer });
  }
}

/** The `peer` label: host:port, IPv6 in brackets (as Go's net.JoinHostPort, which MetalLB uses). */
export function peerLabel(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
