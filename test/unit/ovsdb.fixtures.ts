// The Open_vSwitch columns the client reads, typed as in vswitch.ovsschema 8.3.1 (OVS 3.1).
import { parseDatabaseSchema } from '../../src/ovsdb/datum.js';

export const OVS_TEST_SCHEMA = parseDatabaseSchema({
  name: 'Open_vSwitch', version: '8.3.1',
  tables: {
    Open_vSwitch: { columns: { bridges: { type: { key: { type: 'uuid', refTable: 'Bridge' }, min: 0, max: 'unlimited' } }, external_ids: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } }, other_config: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } } }, isRoot: true, maxRows: 1 },
    Bridge: { columns: { name: { type: 'string' }, ports: { type: { key: { type: 'uuid', refTable: 'Port' }, min: 0, max: 'unlimited' } }, external_ids: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } }, other_config: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } }, datapath_type: { type: 'string' } }, indexes: [['name']] },
    Port: { columns: { name: { type: 'string' }, interfaces: { type: { key: { type: 'uuid', refTable: 'Interface' }, min: 1, max: 'unlimited' } }, tag: { type: { key: { type: 'integer', minInteger: 0, maxInteger: 4095 }, min: 0, max: 1 } }, trunks: { type: { key: 'integer', min: 0, max: 4096 } }, vlan_mode: { type: { key: 'string', min: 0, max: 1 } }, external_ids: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } } } },
    Interface: { columns: { name: { type: 'string' }, type: { type: 'string' }, mac_in_use: { type: { key: 'string', min: 0, max: 1 } }, ofport: { type: { key: 'integer', min: 0, max: 1 } }, external_ids: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } }, options: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } }, link_state: { type: { key: 'string', min: 0, max: 1 } }, admin_state: { type: { key: 'string', min: 0, max: 1 } }, mtu: { type: { key: 'integer', min: 0, max: 1 } }, status: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } } } },
  },
});
