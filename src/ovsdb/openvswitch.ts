// Typed read access to the Open_vSwitch database (vswitch.ovsschema) for the columns the underlay
// discovery uses (kube-ovn-underlay spec §3.2): Open_vSwitch, Bridge, Port, Interface.
import type { ColumnType, DatabaseSchema, Datum, Row } from './datum.js';
import { OvsdbDecodeError } from './datum.js';
import type { MonitorRequests } from './client.js';
import type { Replica } from './replica.js';

export const OVS_DB = 'Open_vSwitch';

type Shape = 'string' | 'string?' | 'integer?' | 'uuid[]' | 'integer[]' | 'map';

/** The columns we read and the shape each must have in the server's schema. */
export const OVS_COLUMNS = {
  Open_vSwitch: { external_ids: 'map', other_config: 'map', bridges: 'uuid[]' },
  Bridge: { name: 'string', ports: 'uuid[]', external_ids: 'map', other_config: 'map', datapath_type: 'string' },
  Port: { name: 'string', interfaces: 'uuid[]', tag: 'integer?', trunks: 'integer[]', vlan_mode: 'string?', external_ids: 'map' },
  Interface: {
    name: 'string', type: 'string', mac_in_use: 'string?', ofport: 'integer?', external_ids: 'map', options: 'map',
    link_state: 'string?', admin_state: 'string?', mtu: 'integer?', status: 'map',
  },
} as const satisfies Record<string, Record<string, Shape>>;

export type OvsTable = keyof typeof OVS_COLUMNS;

/** Monitor requests for exactly the columns above. */
export const OVS_MONITOR_REQUESTS: MonitorRequests = Object.fromEntries(
  Object.entries(OVS_COLUMNS).map(([t, cols]) => [t, { columns: Object.keys(cols) }]),
);

function shapeOf(t: ColumnType): Shape | undefined {
  if (t.value) return t.key.type === 'string' && t.value.type === 'string' ? 'map' : undefined;
  const k = t.key.type;
  if (t.min === 1 && t.max === 1) return k === 'string' ? 'string' : undefined;
  if (t.min === 0 && t.max === 1) return k === 'string' ? 'string?' : k === 'integer' ? 'integer?' : undefined;
  return k === 'uuid' ? 'uuid[]' : k === 'integer' ? 'integer[]' : undefined;
}

/** Throws naming table.column when the server's Open_vSwitch schema lacks a column we read or types it differently. */
export function checkOpenVswitchSchema(schema: DatabaseSchema): void {
  if (schema.name !== OVS_DB) throw new OvsdbDecodeError(`expected the ${OVS_DB} schema, got "${schema.name}"`);
  const problems: string[] = [];
  for (const [table, cols] of Object.entries(OVS_COLUMNS)) {
    const ts = schema.tables.get(table);
    if (!ts) {
      problems.push(`table ${table} is missing`);
      continue;
    }
    for (const [col, want] of Object.entries(cols)) {
      const cs = ts.columns.get(col);
      if (!cs) problems.push(`${table}.${col} is missing`);
      else if (shapeOf(cs.type) !== want) problems.push(`${table}.${col} has type ${JSON.stringify({ ...cs.type, max: cs.type.max === Infinity ? 'unlimited' : cs.type.max })}, expected ${want}`);
    }
  }
  if (problems.length) throw new OvsdbDecodeError(`Open_vSwitch schema ${schema.version}: ${problems.join('; ')}`);
}

export interface OvsRoot {
  readonly uuid: string;
  readonly bridges: readonly string[];
  readonly externalIds: ReadonlyMap<string, string>;
  readonly otherConfig: ReadonlyMap<string, string>;
  /** external_ids:system-id (the chassis name OVN uses). */
  readonly systemId: string | undefined;
}
export interface OvsBridge {
  readonly uuid: string;
  readonly name: string;
  readonly ports: readonly string[];
  readonly externalIds: ReadonlyMap<string, string>;
  readonly otherConfig: ReadonlyMap<string, string>;
  /** "" (kernel datapath, "system") or "netdev" (userspace). */
  readonly datapathType: string;
}
export interface OvsPort {
  readonly uuid: string;
  readonly name: string;
  readonly interfaces: readonly string[];
  /** Access VLAN; null when untagged/trunk. */
  readonly tag: number | null;
  readonly trunks: readonly number[];
  readonly vlanMode: string | null;
  readonly externalIds: ReadonlyMap<string, string>;
}
export interface OvsInterface {
  readonly uuid: string;
  readonly name: string;
  /** "" = a kernel device, "internal", "patch", ... */
  readonly type: string;
  readonly macInUse: string | null;
  readonly ofport: number | null;
  readonly mtu: number | null;
  readonly linkState: string | null;
  readonly adminState: string | null;
  readonly externalIds: ReadonlyMap<string, string>;
  readonly options: ReadonlyMap<string, string>;
  readonly status: ReadonlyMap<string, string>;
}
export interface PortPlacement {
  readonly bridge: OvsBridge;
  readonly port: OvsPort;
  readonly tag: number | null;
  readonly trunks: readonly number[];
  readonly vlanMode: string | null;
  readonly interfaces: readonly OvsInterface[];
}

// A monitored column may be absent from a row only if the monitor did not ask for it; then use the empty value.
const str = (r: Row, c: string) => (typeof r[c] === 'string' ? (r[c] as string) : '');
const optStr = (r: Row, c: string) => (typeof r[c] === 'string' ? (r[c] as string) : null);
const optInt = (r: Row, c: string) => (typeof r[c] === 'number' ? (r[c] as number) : null);
const list = <T>(r: Row, c: string) => (Array.isArray(r[c]) ? (r[c] as unknown as T[]) : []);
const strMap = (r: Row, c: string): ReadonlyMap<string, string> => (r[c] instanceof Map ? (r[c] as Datum as ReadonlyMap<string, string>) : new Map());
const uuidOf = (r: Row) => r._uuid as string;

export function toRoot(r: Row): OvsRoot {
  const externalIds = strMap(r, 'external_ids');
  return { uuid: uuidOf(r), bridges: list<string>(r, 'bridges'), externalIds, otherConfig: strMap(r, 'other_config'), systemId: externalIds.get('system-id') };
}
export function toBridge(r: Row): OvsBridge {
  return { uuid: uuidOf(r), name: str(r, 'name'), ports: list<string>(r, 'ports'), externalIds: strMap(r, 'external_ids'), otherConfig: strMap(r, 'other_config'), datapathType: str(r, 'datapath_type') };
}
export function toPort(r: Row): OvsPort {
  return {
    uuid: uuidOf(r), name: str(r, 'name'), interfaces: list<string>(r, 'interfaces'), tag: optInt(r, 'tag'),
    trunks: list<number>(r, 'trunks').slice().sort((a, b) => a - b), vlanMode: optStr(r, 'vlan_mode'), externalIds: strMap(r, 'external_ids'),
  };
}
export function toInterface(r: Row): OvsInterface {
  return {
    uuid: uuidOf(r), name: str(r, 'name'), type: str(r, 'type'), macInUse: optStr(r, 'mac_in_use'), ofport: optInt(r, 'ofport'), mtu: optInt(r, 'mtu'),
    linkState: optStr(r, 'link_state'), adminState: optStr(r, 'admin_state'), externalIds: strMap(r, 'external_ids'), options: strMap(r, 'options'), status: strMap(r, 'status'),
  };
}

/** Parses external_ids:ovn-bridge-mappings ("physnet1:br-p1,physnet2:br-p2") into provider -> bridge. */
export function parseBridgeMappings(v: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of (v ?? '').split(',')) {
    const i = pair.indexOf(':');
    if (i > 0 && i < pair.length - 1) out.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim());
  }
  return out;
}

/** Typed view over a replica of the Open_vSwitch database. Every call reads the replica's current rows. */
export class OpenVswitchView {
  constructor(readonly replica: Replica) {}

  root(): OvsRoot | undefined {
    const [first] = this.replica.table('Open_vSwitch').values();
    return first ? toRoot(first) : undefined;
  }
  bridges(): OvsBridge[] {
    return [...this.replica.table('Bridge').values()].map(toBridge);
  }
  ports(): OvsPort[] {
    return [...this.replica.table('Port').values()].map(toPort);
  }
  interfaces(): OvsInterface[] {
    return [...this.replica.table('Interface').values()].map(toInterface);
  }
  bridgeByName(name: string): OvsBridge | undefined {
    return this.bridges().find((b) => b.name === name);
  }
  portByName(name: string): OvsPort | undefined {
    return this.ports().find((p) => p.name === name);
  }
  interfaceByName(name: string): OvsInterface | undefined {
    return this.interfaces().find((i) => i.name === name);
  }
  portsOf(bridge: OvsBridge): OvsPort[] {
    return bridge.ports.map((u) => this.replica.row('Port', u)).filter((r): r is Row => r !== undefined).map(toPort);
  }
  interfacesOf(port: OvsPort): OvsInterface[] {
    return port.interfaces.map((u) => this.replica.row('Interface', u)).filter((r): r is Row => r !== undefined).map(toInterface);
  }
  /** external_ids:ovn-bridge-mappings of the Open_vSwitch row, provider -> bridge name. */
  bridgeMappings(): Map<string, string> {
    return parseBridgeMappings(this.root()?.externalIds.get('ovn-bridge-mappings'));
  }
  /** Which bridge holds port `portName`, and its VLAN settings; undefined when no bridge lists it. */
  placementOfPort(portName: string): PortPlacement | undefined {
    const port = this.portByName(portName);
    if (!port) return undefined;
    const bridge = this.bridges().find((b) => b.ports.includes(port.uuid));
    if (!bridge) return undefined;
    return { bridge, port, tag: port.tag, trunks: port.trunks, vlanMode: port.vlanMode, interfaces: this.interfacesOf(port) };
  }
}
