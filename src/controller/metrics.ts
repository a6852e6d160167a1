// Controller metrics under MetalLB's names (spec/metallb.md 5.5), so existing dashboards work,
// plus ironlb_controller_assign_latency_seconds (ironlb's own prefix: no MetalLB name clash).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PoolCounters } from '../allocator/types.js';

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly updates = new Counter({ name: 'metallb_k8s_client_updates_total', help: 'Number of k8s object updates that have been processed.', registers: [this.registry] });
  readonly updateErrors = new Counter({ name: 'metallb_k8s_client_update_errors_total', help: 'Number of k8s object updates that failed for some reason.', registers: [this.registry] });
  readonly configLoaded = new Gauge({ name: 'metallb_k8s_client_config_loaded_bool', help: '1 if the configuration has been loaded at least once.', registers: [this.registry] });
  readonly configStale = new Gauge({ name: 'metallb_k8s_client_config_stale_bool', help: '1 if running on a stale configuration, because the latest config failed to load.', registers: [this.registry] });
  private readonly total = new Gauge({ name: 'metallb_allocator_addresses_total', help: 'Number of usable IP addresses, per pool', labelNames: ['pool'], registers: [this.registry] });
  private readonly inUse = new Gauge({ name: 'metallb_allocator_addresses_in_use_total', help: 'Number of IP addresses in use, per pool', labelNames: ['pool'], registers: [this.registry] });
  private readonly total4 = new Gauge({ name: 'metallb_allocator_ipv4_addresses_total', help: 'Number of usable IPv4 addresses, per pool', labelNames: ['pool'], registers: [this.registry] });
  private readonly inUse4 = new Gauge({ name: 'metallb_allocator_ipv4_addresses_in_use_total', help: 'Number of IPv4 addresses in use, per pool', labelNames: ['pool'], registers: [this.registry] });
  private readonly total6 = new Gauge({ name: 'metallb_allocator_ipv6_addresses_total', help: 'Number of usable IPv6 addresses, per pool', labelNames: ['pool'], registers: [this.registry] });
  private readonly inUse6 = new Gauge({ name: 'metallb_allocator_ipv6_addresses_in_use_total', help: 'Number of IPv6 addresses in use, per pool', labelNames: ['pool'], registers: [this.registry] });
  private pools = new Set<string>();
  readonly assignLatency = new Histogram({
    name: 'ironlb_controller_assign_latency_seconds',
    help: 'Time from this controller first seeing a LoadBalancer Service without an IP to its status.loadBalancer.ingress written.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry],
  });
  /** Service key -> when it was first seen needing an IP (now() clock, ms). */
  private readonly waiting = new Map<string, number>();
  private readonly now: () => number;

  constructor(opts: { now?: () => number } = {}) {
    this.now = opts.now ?? (() => performance.now());
  }

  /**
   * A Service event: starts the clock for a LoadBalancer Service without an IP. The watch can show
   * our own status write before its response arrives, so an IP seen here stops the clock too.
   */
  serviceSeen(key: string, state: 'needsIp' | 'hasIp' | 'other'): void {
    if (state === 'needsIp') {
      if (!this.waiting.has(key)) this.waiting.set(key, this.now());
    } else if (state === 'hasIp') {
      this.ingressWritten(key);
    } else {
      this.waiting.delete(key);
    }
  }

  /** status.loadBalancer.ingress with at least one IP was written for the Service. */
  ingressWritten(key: string): void {
    const since = this.waiting.get(key);
    if (since === undefined) return;
    this.waiting.delete(key);
    this.assignLatency.observe(Math.max(0, this.now() - since) / 1000);
  }

  /** Drops the series of pools that no longer exist. */
  setPools(names: Iterable<string>): void {
    const next = new Set(names);
    for (const p of this.pools) {
      if (!next.has(p)) for (const g of [this.total, this.inUse, this.total4, this.inUse4, this.total6, this.inUse6]) g.remove({ pool: p });
    }
    this.pools = next;
  }

  setPoolCounters(pool: string, c: PoolCounters): void {
    const n = (v: bigint) => Number(v);
    this.total4.set({ pool }, n(c.assignedIPv4 + c.availableIPv4));
    this.total6.set({ pool }, n(c.assignedIPv6 + c.availableIPv6));
    this.inUse4.set({ pool }, n(c.assignedIPv4));
    this.inUse6.set({ pool }, n(c.assignedIPv6));
    this.total.set({ pool }, n(c.assignedIPv4 + c.availableIPv4 + c.assignedIPv6 + c.availableIPv6));
    this.inUse.set({ pool }, n(c.assignedIPv4 + c.assignedIPv6));
  }
}
