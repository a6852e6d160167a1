// Interface eligibility and the exclusion list (MetalLB spec 4.4), the /proc/net/if_inet6 reader
// and the /sys/class/net scan (against a fake sysfs tree).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { projectRoot } from '../../src/lab/projectRoot.js';
import {
  compileExclusions, DEFAULT_EXCLUDED_INTERFACE_PATTERNS, interfaceEligibility, type NetInterface, parseExcludeL2Yaml, parseIfInet6, readInterfaces,
} from '../../src/speaker/l2/interfaces.js';

const UP_BROADCAST_MULTICAST = 0x1003;
const base: NetInterface = { name: 'eth0', ifindex: 2, mac: '02:00:00:00:00:01', flags: UP_BROADCAST_MULTICAST, hardwareType: 1, enslaved: false, linkLocal: 'fe80::1' };
const defaults = compileExclusions(DEFAULT_EXCLUDED_INTERFACE_PATTERNS);

describe('interfaceEligibility', () => {
  test('an up Ethernet interface with BROADCAST and a link-local address gets ARP and NDP', () => {
    expect(interfaceEligibility(base, defaults)).toEqual({ arp: true, ndp: true, reason: undefined });
  });

  test.each([
    ['down', { flags: 0x1002 }, 'down'],
    ['enslaved to a bridge', { enslaved: true }, 'enslaved'],
    ['NOARP', { flags: UP_BROADCAST_MULTICAST | 0x80 }, 'NOARP'],
    ['not Ethernet (loopback type)', { hardwareType: 772 }, 'not Ethernet'],
    ['neither broadcast nor link-local', { flags: 0x1001, linkLocal: undefined }, 'no BROADCAST'],
  ] as const)('%s: no responder', (_what, change, reason) => {
    const e = interfaceEligibility({ ...base, ...change }, defaults);
    expect(e.arp || e.ndp).toBe(false);
    expect(e.reason).toContain(reason);
  });

  test('BROADCAST without link-local: ARP only; link-local without BROADCAST: NDP only', () => {
    expect(interfaceEligibility({ ...base, linkLocal: undefined }, defaults)).toMatchObject({ arp: true, ndp: false });
    expect(interfaceEligibility({ ...base, flags: 0x1001 }, defaults)).toMatchObject({ arp: false, ndp: true });
  });

  test("MetalLB's default exclusions: veth*, docker*, cali*, lo; but eth0, bond0, br0 are used", () => {
    for (const name of ['veth1234', 'docker0', 'cali0a1b', 'lo', 'cni0', 'flannel.1', 'kube-ipvs0', 'nodelocaldns']) {
      expect(interfaceEligibility({ ...base, name }, defaults).reason, name).toMatch(/excluded/);
    }
    for (const name of ['eth0', 'bond0', 'br0', 'ens3', 'lo0', 'myveth']) {
      expect(interfaceEligibility({ ...base, name }, defaults).arp, name).toBe(true);
    }
  });

  test('exclusions are configurable and unanchored unless anchored', () => {
    const custom = compileExclusions(['vlan', '^eth1$']);
    expect(interfaceEligibility({ ...base, name: 'eth0.vlan9' }, custom).arp).toBe(false);
    expect(interfaceEligibility({ ...base, name: 'eth1' }, custom).arp).toBe(false);
    expect(interfaceEligibility({ ...base, name: 'eth10' }, custom).arp).toBe(true);
    expect(interfaceEligibility({ ...base, name: 'veth0' }, compileExclusions([])).arp).toBe(true);
    expect(() => compileExclusions(['(unclosed'])).toThrow(/pattern "\(unclosed" is not a valid regular expression/);
  });
});

describe('excludel2.yaml', () => {
  test('the shipped ConfigMap holds exactly the default list', () => {
    const cm = parseYaml(readFileSync(join(projectRoot(), 'manifests', 'excludel2.yaml'), 'utf8')) as { data: Record<string, string> };
    expect(parseExcludeL2Yaml(cm.data['excludel2.yaml']!)).toEqual([...DEFAULT_EXCLUDED_INTERFACE_PATTERNS]);
  });

  test('empty document or key: nothing excluded; wrong shapes name the key', () => {
    expect(parseExcludeL2Yaml('')).toEqual([]);
    expect(parseExcludeL2Yaml('announcedInterfacesToExclude: []')).toEqual([]);
    expect(() => parseExcludeL2Yaml('announcedInterfacesToExclude: eth0')).toThrow(/announcedInterfacesToExclude.*list/);
    expect(() => parseExcludeL2Yaml('- a')).toThrow(/mapping/);
    expect(() => parseExcludeL2Yaml('announcedInterfacesToExclude: ["("]')).toThrow(/not a valid regular expression/);
  });
});

describe('parseIfInet6', () => {
  test('keeps the first usable link-local per interface; skips global and DAD-failed addresses', () => {
    const text = [
      '20010db8000100000000000000000011 02 40 00 80     eth0',
      'fe8000000000000000000000000000aa 02 40 20 80     eth0',
      'fe8000000000000000000000000000bb 03 40 20 c8     eth1', // 0x08 DADFAILED
      'fe8000000000000000000000000000cc 03 40 20 40     eth1', // tentative: kept
      '00000000000000000000000000000001 01 80 10 80       lo',
      'garbage',
    ].join('\n');
    expect(parseIfInet6(text)).toEqual(new Map([['eth0', 'fe80::aa'], ['eth1', 'fe80::cc']]));
  });
});

describe('readInterfaces', () => {
  const root = mkdtempSync(join(tmpdir(), 'ironlb-l2if-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  test('reads flags, type, MAC, ifindex and master from a sysfs-shaped tree', () => {
    const sys = join(root, 'net');
    const dev = (name: string, files: Record<string, string>) => {
      mkdirSync(join(sys, name), { recursive: true });
      for (const [f, v] of Object.entries(files)) writeFileSync(join(sys, name, f), `${v}\n`);
    };
    dev('eth0', { ifindex: '2', flags: '0x1003', type: '1', address: '02:AA:00:00:00:01' });
    dev('eth1', { ifindex: '3', flags: '0x1003', type: '1', address: '02:aa:00:00:00:02', master: 'br0' });
    dev('broken', { ifindex: '4' }); // vanished mid-scan: skipped
    const inet6 = join(root, 'if_inet6');
    writeFileSync(inet6, 'fe800000000000000000000000000001 02 40 20 80     eth0\n');
    expect(readInterfaces({ sysClassNet: sys, procIfInet6: inet6 })).toEqual([
      { name: 'eth0', ifindex: 2, mac: '02:aa:00:00:00:01', flags: 0x1003, hardwareType: 1, enslaved: false, linkLocal: 'fe80::1' },
      { name: 'eth1', ifindex: 3, mac: '02:aa:00:00:00:02', flags: 0x1003, hardwareType: 1, enslaved: true, linkLocal: undefined },
    ]);
  });

  test('a missing sysfs directory is an error that names it', () => {
    expect(() => readInterfaces({ sysClassNet: join(root, 'nope'), procIfInet6: join(root, 'nope6') })).toThrow(/cannot list network interfaces in .*nope/);
  });
});
