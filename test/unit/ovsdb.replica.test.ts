import { describe, expect, it } from 'vitest';
import { parseEndpoint } from '../../src/ovsdb/client.js';
import { OpenVswitchView, OVS_MONITOR_REQUESTS } from '../../src/ovsdb/openvswitch.js';
import { Replica } from '../../src/ovsdb/replica.js';
import { OVS_TEST_SCHEMA as SCHEMA } from './ovsdb.fixtures.js';

const ROOT = '00000000-0000-0000-0000-0000000000aa';
const BR = '00000000-0000-0000-0000-0000000000b1';
const P1 = '00000000-0000-0000-0000-0000000000c1';
const P2 = '00000000-0000-0000-0000-0000000000c2';
const I1 = '00000000-0000-0000-0000-0000000000d1';
const I2 = '00000000-0000-0000-0000-0000000000d2';
const cols = Object.fromEntries(Object.entries(OVS_MONITOR_REQUESTS).map(([t, r]) => [t, r.columns]));

function initial2(): Replica {
  const r = new Replica(SCHEMA, cols);
  r.applyUpdate2({
    Open_vSwitch: { [ROOT]: { initial: { bridges: ['uuid', BR], external_ids: ['map', [['system-id', 'node-a'], ['ovn-bridge-mappings', 'provider:br-p']]] } } },
    Bridge: { [BR]: { initial: { name: 'br-p', ports: ['set', [['uuid', P1], ['uuid', P2]]] } } },
    Port: {
      [P1]: { initial: { name: 'eth1', interfaces: ['uuid', I1], trunks: ['set', [0, 341]] } },
      [P2]: { initial: { name: 'br-p-vlan341', interfaces: ['uuid', I2], tag: 341 } },
    },
    Interface: { [I1]: { initial: { name: 'eth1', ofport: 1 } }, [I2]: { initial: { name: 'br-p-vlan341', type: 'internal', mac_in_use: '02:00:00:00:00:01' } } },
  });
  return r;
}

describe('Replica: update2 (monitor_cond)', () => {
  it('builds rows from the initial dump, filling omitted default columns', () => {
    const r = initial2();
    expect(r.row('Port', P1)).toEqual({ _uuid: P1, name: 'eth1', interfaces: [I1], trunks: [0, 341], tag: null, vlan_mode: null, external_ids: new Map() });
    const v = new OpenVswitchView(r);
    expect(v.root()?.systemId).toBe('node-a');
    expect(v.bridgeMappings().get('provider')).toBe('br-p');
    const placed = v.placementOfPort('br-p-vlan341')!;
    expect([placed.bridge.name, placed.tag, placed.interfaces[0]?.type, placed.interfaces[0]?.macInUse]).toEqual(['br-p', 341, 'internal', '02:00:00:00:00:01']);
    expect(v.placementOfPort('eth1')?.trunks).toEqual([0, 341]);
    expect(v.placementOfPort('nope')).toBeUndefined();
  });

  it('applies modify diffs: sets toggle, maps toggle/replace, single-value columns take the new value', () => {
    const r = initial2();
    const changes = r.applyUpdate2({
      Port: { [P1]: { modify: { trunks: ['set', [341, 342]], external_ids: ['map', [['vendor', 'kube-ovn']]] } }, [P2]: { modify: { tag: ['set', []] } } },
      Open_vSwitch: { [ROOT]: { modify: { external_ids: ['map', [['system-id', 'node-a'], ['ovn-bridge-mappings', 'provider:br-q']]] } } },
    });
    expect(changes.map((c) => [c.table, c.uuid])).toEqual([['Port', P1], ['Port', P2], ['Open_vSwitch', ROOT]]);
    const v = new OpenVswitchView(r);
    expect(v.portByName('eth1')?.trunks).toEqual([0, 342]);
    expect(v.portByName('eth1')?.externalIds.get('vendor')).toBe('kube-ovn');
    expect(v.portByName('br-p-vlan341')?.tag).toBeNull();
    expect(Object.fromEntries(v.root()!.externalIds)).toEqual({ 'ovn-bridge-mappings': 'provider:br-q' });
    expect(changes[1]?.old?.tag).toBe(341);
    r.applyUpdate2({ Port: { [P2]: { modify: { tag: 100 } } } });
    expect(v.portByName('br-p-vlan341')?.tag).toBe(100);
  });

  it('insert and delete', () => {
    const r = initial2();
    const P3 = '00000000-0000-0000-0000-0000000000c3';
    r.applyUpdate2({ Port: { [P3]: { insert: { name: 'p3', interfaces: ['uuid', I1] } } }, Bridge: { [BR]: { modify: { ports: ['uuid', P3] } } } });
    expect(new OpenVswitchView(r).placementOfPort('p3')?.bridge.name).toBe('br-p');
    const ch = r.applyUpdate2({ Port: { [P3]: { delete: null } } });
    expect(ch[0]?.new).toBeUndefined();
    expect(ch[0]?.old?.name).toBe('p3');
    expect(r.row('Port', P3)).toBeUndefined();
  });

  it('malformed updates throw naming table/column and leave the replica unchanged', () => {
    const r = initial2();
    const before = JSON.stringify([...r.table('Port').values()].map((row) => ({ ...row, external_ids: [...(row.external_ids as Map<string, string>)] })));
    expect(() => r.applyUpdate2({ Port: { [P1]: { modify: { name: 'ok' } }, [P2]: { modify: { tag: 'x' } } } })).toThrow(/update2 Port row .* modify Port.tag: expected an integer, got "x"/);
    expect(() => r.applyUpdate2({ Nope: {} })).toThrow('update2: database Open_vSwitch has no table "Nope"');
    expect(() => r.applyUpdate2({ Port: { 'not-a-uuid': { delete: null } } })).toThrow(/row key "not-a-uuid" is not a UUID/);
    expect(() => r.applyUpdate2({ Port: { [P1]: { insert: {}, delete: null } } })).toThrow(/exactly one of initial\/insert\/delete\/modify/);
    expect(() => r.applyUpdate2({ Port: { '00000000-0000-0000-0000-000000000999': { modify: { name: 'x' } } } })).toThrow(/"modify" for a row the replica does not have/);
    expect(() => r.applyUpdate2([])).toThrow(/<table-updates> must be an object/);
    expect(JSON.stringify([...r.table('Port').values()].map((row) => ({ ...row, external_ids: [...(row.external_ids as Map<string, string>)] })))).toBe(before);
    expect(r.row('Port', P1)?.name).toBe('eth1');
  });
});

describe('Replica: update (RFC 7047 §4.1.6)', () => {
  it('initial, modify (new carries all columns), delete', () => {
    const r = new Replica(SCHEMA);
    r.applyUpdate({ Bridge: { [BR]: { new: { name: 'br0', ports: ['set', []], datapath_type: '' } } } });
    expect(r.row('Bridge', BR)).toEqual({ _uuid: BR, name: 'br0', ports: [], datapath_type: '' });
    const ch = r.applyUpdate({ Bridge: { [BR]: { old: { datapath_type: '' }, new: { name: 'br0', ports: ['set', []], datapath_type: 'netdev' } } } });
    expect(ch[0]?.old?.datapath_type).toBe('');
    expect(r.row('Bridge', BR)?.datapath_type).toBe('netdev');
    r.applyUpdate({ Bridge: { [BR]: { old: { name: 'br0' } } } });
    expect(r.table('Bridge').size).toBe(0);
    expect(() => r.applyUpdate({ Bridge: { [BR]: {} } })).toThrow(/neither "old" nor "new"/);
    expect(() => r.applyUpdate({ Bridge: { [BR]: { new: { name: ['set', ['a', 'b']] } } } })).toThrow(/Bridge.name: expected exactly one value, got 2/);
  });

  it('replaceWith swaps in a fresh replica whole', () => {
    const r = initial2();
    const fresh = new Replica(SCHEMA, cols);
    fresh.applyUpdate2({ Bridge: { [BR]: { initial: { name: 'br-new' } } } });
    r.replaceWith(fresh);
    expect(r.table('Port').size).toBe(0);
    expect(new OpenVswitchView(r).bridges().map((b) => b.name)).toEqual(['br-new']);
  });
});

describe('parseEndpoint', () => {
  it('accepts unix and tcp forms, rejects others', () => {
    expect(parseEndpoint('unix:/run/openvswitch/db.sock')).toEqual({ kind: 'unix', path: '/run/openvswitch/db.sock' });
    expect(parseEndpoint('tcp:127.0.0.1:6640')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 6640 });
    expect(parseEndpoint('tcp:[2001:db8::1]:6640')).toEqual({ kind: 'tcp', host: '2001:db8::1', port: 6640 });
    expect(() => parseEndpoint('ssl:1.2.3.4:6640')).toThrow(/expected unix:<path> or tcp:<host>:<port>/);
    expect(() => parseEndpoint('tcp:h:70000')).toThrow(/out of range/);
    expect(() => parseEndpoint('unix:')).toThrow(/path is empty/);
  });
});
