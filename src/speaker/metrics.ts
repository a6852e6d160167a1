// Speaker metrics under MetalLB's names (spec/metallb.md 5.5).
import { Counter, Gauge, Registry } from 'prom-client';

export interface Layer2Counters {
  readonly requestsReceived: number;
  readonly responsesSent: number;
  readonly gratuitousSent: number;
}

export class SpeakerMetrics {
  readonly registry = new Registry();
  readonly configLoaded = new Gauge({ name: 'metallb_k8s_client_config_loaded_bool', help: '1 if the configuration has been loaded at least once.', registers: [this.registry] });
  readonly configStale = new Gauge({ name: 'metallb_k8s_client_config_stale_bool', help: '1 if running on a stale configuration, because the latest config failed to load.', registers: [this.registry] });
  readonly updates = new Counter({ name: 'metallb_k8s_client_updates_total', help: 'Number of k8s object updates that have been processed.', registers: [this.registry] });
  private readonly announced = new Gauge({ name: 'metallb_speaker_announced', help: 'Services being announced from this node. This is desired state, it does not guarantee that the routing protocols have converged.', labelNames: ['service', 'protocol', 'node', 'ip'], registers: [this.registry] });
  /** Series currently set, per protocol. */
  private readonly announcedKeys = new Map<string, Set<string>>();

  constructor(layer2: () => ReadonlyMap<string, Layer2Counters>) {
    const reg = this.registry;
    const perIp = (name: string, help: string, pick: (c: Layer2Counters) => number) =>
      new Counter({
        name, help, labelNames: ['ip'], registers: [reg],
        collect() {
          this.reset();
          for (const [ip, c] of layer2()) this.inc({ ip }, pick(c));
        },
      });
    perIp('metallb_layer2_requests_received', 'Number of layer2 requests received for owned IPs', (c) => c.requestsReceived);
    perIp('metallb_layer2_responses_sent', 'Number of layer2 responses sent for owned IPs', (c) => c.responsesSent);
    perIp('metallb_layer2_gratuitous_sent', 'Number of gratuitous layer2 packets sent for owned IPs', (c) => c.gratuitousSent);
  }

  /** Replaces one protocol's announced set; series of withdrawn IPs are deleted (MetalLB #1972: no stale series). */
  setAnnounced(node: string, protocol: 'layer2' | 'bgp', services: readonly { service: string; ips: readonly string[] }[]): void {
    const next = new Set<string>();
    const previous = this.announcedKeys.get(protocol) ?? new Set<string>();
    for (const s of services) {
      for (const ip of s.ips) {
        const labels = { service: s.service, protocol, node, ip };
        const key = JSON.stringify(labels);
        next.add(key);
        if (!previous.has(key)) this.announced.set(labels, 1);
      }
    }
    for (const k of previous) if (!next.has(k)) this.announced.remove(JSON.parse(k) as Record<string, string>);
    this.announcedKeys.set(protocol, next);
  }
}
