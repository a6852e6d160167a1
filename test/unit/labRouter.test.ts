// The lab router's pure parts: addressing plan, daemon configurations, GoBGP RIB -> kernel routes.
import { describe, expect, test } from 'vitest';
import { planLabNetwork } from '../../src/lab/network.js';
import { routerDaemonSpec, routerInfo } from '../../src/lab/router.js';
import { birdConfig } from '../../src/lab/routers/bird.js';
import { frrBgpdConfig, frrBfddConfig } from '../../src/lab/routers/frr.js';
import { gobgpConfig } from '../../src/lab/routers/gobgp.js';
import { ipRouteReplaceArgs, kernelRoutesFromGobgpRib } from '../../src/lab/routers/gobgpRoutes.js';

const net = planLabNetwork('/tmp/lab-router-unit', 2, true);

describe('plan', () => {
  test('without a router the client stays on the LAN and no router is planned', () => {
    const plain = planLabNetwork('/tmp/lab-router-unit', 2);
    expect(plain.router).toBeUndefined();
    expect(plain.clientAddresses).toEqual(['192.0.2.100', '2001:db8:1::100']);
  });
  test('with a router the client moves to 198.51.100.0/28 and 2001:db8:3::/64, clear of the pod ranges', () => {
    expect(net.clientAddresses).toEqual(['198.51.100.2', '2001:db8:3::2']);
    expect(net.router?.lanAddresses).toEqual(['192.0.2.1', '2001:db8:1::1']);
    expect(net.router?.namespace).toBe(`${net.prefix}rt`);
    for (const n of planLabNetwork('/tmp/x', 14).nodes) expect(n.podCidrs[0]).not.toBe('198.51.100.0/28');
    expect(new Set([net.router?.lanMac, net.router?.clientMac, net.clientMac, ...net.nodes.map((n) => n.mac)]).size).toBe(5);
  });
  test('ASNs are checked', () => {
    expect(() => routerDaemonSpec(net, 'bird', 0)).toThrow(/--router-asn 0/);
    expect(() => routerDaemonSpec(net, 'bird', 64512, 4294967295)).toThrow(/--node-asn/);
  });
});

describe('configs', () => {
  const spec = routerDaemonSpec(net, 'bird');
  test('BIRD: passive, GR, BFD 100 ms x 3, merge paths, one session per node address', () => {
    const c = birdConfig(spec);
    for (const s of ['passive on;', 'graceful restart on;', 'bfd on;', 'merge paths on', 'min rx interval 100 ms', 'multiplier 3']) expect(c).toContain(s);
    expect(c).toContain('neighbor 192.0.2.12 as 64513;');
    expect(c).toContain('neighbor 2001:db8:1::11 as 64513;');
    expect(c.match(/^protocol bgp /gm)).toHaveLength(4);
  });
  test('FRR: passive peer group with BFD profile, GR, maximum-paths', () => {
    const c = frrBgpdConfig(spec);
    for (const s of [' neighbor nodes passive', ' bgp graceful-restart', ' neighbor nodes bfd profile lab', '  maximum-paths 16', ' neighbor 192.0.2.11 peer-group nodes', '  neighbor 2001:db8:1::12 activate']) expect(c).toContain(s);
    expect(frrBfddConfig(spec)).toContain('  receive-interval 100');
  });
  test('GoBGP: passive neighbours with graceful restart', () => {
    const c = gobgpConfig(spec);
    expect(c.match(/passive-mode = true/g)).toHaveLength(4);
    expect(c.match(/\[neighbors.graceful-restart.config\]\n    enabled = true/g)).toHaveLength(4);
  });
  test('the summary names commands that use the runtime directory', () => {
    const info = routerInfo(net, routerDaemonSpec(net, 'frr'));
    expect(info.commands.sessions).toBe(`ip netns exec ${net.prefix}rt /usr/bin/vtysh --vty_socket ${info.dir} -c 'show bgp summary'`);
    expect(info.processes).toEqual(['router-zebra', 'router-bfdd', 'router-bgpd']);
  });
});

describe('GoBGP RIB -> kernel routes', () => {
  const path = (hop: string, asns: number[], origin = 0, best = false) => ({
    best, attrs: [{ type: 1, value: origin }, { type: 2, as_paths: [{ segment_type: 2, num: asns.length, asns }] }, { type: 3, nexthop: hop }],
  });
  test('equal paths from two nodes become one ECMP route; worse paths are left out', () => {
    const rib = JSON.stringify({
      '203.0.113.10/32': [path('192.0.2.12', [64513], 0, true), path('192.0.2.11', [64513]), path('192.0.2.13', [64513, 64513]), path('192.0.2.14', [64513], 2)],
      '203.0.113.11/32': [path('192.0.2.11', [64513], 0, true)],
    });
    expect([...kernelRoutesFromGobgpRib(rib)]).toEqual([['203.0.113.10/32', ['192.0.2.11', '192.0.2.12']], ['203.0.113.11/32', ['192.0.2.11']]]);
  });
  test('IPv6 next hop from MP_REACH; empty RIB', () => {
    const rib = JSON.stringify({ '2001:db8:4::1/128': [{ best: true, attrs: [{ type: 1, value: 0 }, { type: 14, nexthop: '2001:db8:1::11' }] }] });
    expect(kernelRoutesFromGobgpRib(rib).get('2001:db8:4::1/128')).toEqual(['2001:db8:1::11']);
    expect(kernelRoutesFromGobgpRib('').size).toBe(0);
    expect(kernelRoutesFromGobgpRib('{}').size).toBe(0);
  });
  test('ip route arguments: single next hop vs multipath', () => {
    expect(ipRouteReplaceArgs('203.0.113.10/32', ['192.0.2.11'])).toEqual(['-4', 'route', 'replace', '203.0.113.10/32', 'proto', 'bgp', 'via', '192.0.2.11']);
    expect(ipRouteReplaceArgs('203.0.113.10/32', ['192.0.2.11', '192.0.2.12']).slice(6)).toEqual(['nexthop', 'via', '192.0.2.11', 'nexthop', 'via', '192.0.2.12']);
  });
});
