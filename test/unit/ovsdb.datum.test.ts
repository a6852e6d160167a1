import { describe, expect, it } from 'vitest';
import { checkOpenVswitchSchema, parseBridgeMappings } from '../../src/ovsdb/openvswitch.js';
import { type ColumnType, decodeDatum, decodeRow, encodeDatum, encodeRow, NamedUuid, parseColumnType, parseDatabaseSchema } from '../../src/ovsdb/datum.js';
import { checkTransactResult, type Operation, OvsdbTransactError } from '../../src/ovsdb/operations.js';
import { OVS_TEST_SCHEMA as SCHEMA } from './ovsdb.fixtures.js';

const U1 = '11111111-2222-3333-4444-555555555555';
const U2 = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const t = (v: unknown) => parseColumnType(v, 'test');

describe('column types (RFC 7047 §3.2)', () => {
  it('normalises string and object forms', () => {
    expect(t('string')).toEqual({ key: { type: 'string' }, min: 1, max: 1 });
    expect(t({ key: { type: 'integer', minInteger: 0, maxInteger: 4095 }, min: 0, max: 4096 })).toEqual({ key: { type: 'integer' }, min: 0, max: 4096 });
    expect(t({ key: { type: 'uuid', refTable: 'Port' }, min: 0, max: 'unlimited' })).toEqual({ key: { type: 'uuid', refTable: 'Port' }, min: 0, max: Infinity });
    expect(t({ key: { type: 'string', enum: ['set', ['up', 'down']] }, min: 0, max: 1 }).key.enum).toEqual(['up', 'down']);
    expect(() => t('float')).toThrow(/test: unknown atomic type "float"/);
    expect(() => t({ key: 'string', min: 2 })).toThrow(/test.min must be 0 or 1/);
  });
});

describe('datum codec (RFC 7047 §5.1)', () => {
  const scalar: ColumnType = t('string');
  const optInt = t({ key: 'integer', min: 0, max: 1 });
  const uuidSet = t({ key: 'uuid', min: 0, max: 'unlimited' });
  const strMap = t({ key: 'string', value: 'string', min: 0, max: 'unlimited' });

  it('decodes atoms, sets (incl. the one-element shorthand), optional values and maps', () => {
    expect(decodeDatum('br0', scalar, 'c')).toBe('br0');
    expect(decodeDatum(341, optInt, 'c')).toBe(341);
    expect(decodeDatum(['set', []], optInt, 'c')).toBeNull();
    expect(decodeDatum(['set', [341]], optInt, 'c')).toBe(341);
    expect(decodeDatum(['uuid', U1], uuidSet, 'c')).toEqual([U1]);
    expect(decodeDatum(['set', [['uuid', U1], ['uuid', U2]]], uuidSet, 'c')).toEqual([U1, U2]);
    expect(decodeDatum(['set', []], uuidSet, 'c')).toEqual([]);
    expect(decodeDatum(['map', [['a', '1'], ['b', '2']]], strMap, 'c')).toEqual(new Map([['a', '1'], ['b', '2']]));
  });

  it('rejects wrong types with the column named', () => {
    expect(() => decodeDatum(5, scalar, 'Bridge.name')).toThrow('Bridge.name: expected a string, got 5');
    expect(() => decodeDatum(1.5, optInt, 'Port.tag')).toThrow('Port.tag: expected an integer, got 1.5');
    expect(() => decodeDatum(['set', [1, 2]], optInt, 'Port.tag')).toThrow('Port.tag: expected at most one value, got 2');
    expect(() => decodeDatum(['uuid', 'nope'], uuidSet, 'Bridge.ports')).toThrow(/Bridge.ports: expected \["uuid", "<uuid>"\]/);
    expect(() => decodeDatum(['set', [['uuid', U1], 'x']], uuidSet, 'Bridge.ports')).toThrow(/Bridge.ports\[1\]: expected \["uuid"/);
    expect(() => decodeDatum({ a: 1 }, strMap, 'Bridge.external_ids')).toThrow(/Bridge.external_ids: expected \["map"/);
    expect(() => decodeDatum(['map', [['a']]], strMap, 'Bridge.external_ids')).toThrow(/map entry must be \[key, value\]/);
    expect(() => decodeDatum(['set', []], scalar, 'Bridge.name')).toThrow(/expected exactly one value, got 0/);
  });

  it('encodes, with named-uuids, and round-trips through decode', () => {
    expect(encodeDatum('br0', scalar, 'c')).toBe('br0');
    expect(encodeDatum(null, optInt, 'c')).toEqual(['set', []]);
    expect(encodeDatum(341, optInt, 'c')).toBe(341);
    expect(encodeDatum([U1, new NamedUuid('port1')], uuidSet, 'c')).toEqual(['set', [['uuid', U1], ['named-uuid', 'port1']]]);
    expect(encodeDatum({ vendor: 'ironlb' }, strMap, 'c')).toEqual(['map', [['vendor', 'ironlb']]]);
    for (const [v, ty] of [[[U1, U2], uuidSet], [new Map([['k', 'v']]), strMap], [null, optInt], [7, optInt], ['x', scalar]] as const) {
      expect(decodeDatum(encodeDatum(v, ty, 'c'), ty, 'c')).toEqual(v);
    }
    expect(() => encodeDatum('x', optInt, 'Port.tag')).toThrow(/Port.tag\[0\]: expected an integer/);
    expect(() => new NamedUuid('1bad')).toThrow(/must be an <id>/);
  });
});


describe('schema and rows', () => {
  it('parses a schema, adds _uuid/_version, and the Open_vSwitch check accepts it', () => {
    expect(SCHEMA.tables.get('Bridge')?.indexes).toEqual([['name']]);
    expect(SCHEMA.tables.get('Port')?.columns.get('_uuid')?.type.key.type).toBe('uuid');
    expect(() => checkOpenVswitchSchema(SCHEMA)).not.toThrow();
  });

  it('the Open_vSwitch check names each missing or mistyped column', () => {
    const bad = parseDatabaseSchema({ name: 'Open_vSwitch', version: '0', tables: { Open_vSwitch: { columns: {} }, Bridge: { columns: { name: { type: 'integer' } } } } });
    expect(() => checkOpenVswitchSchema(bad)).toThrow(/Open_vSwitch.external_ids is missing.*Bridge.name has type .*expected string.*table Port is missing/);
    expect(() => parseDatabaseSchema({ name: 'X', tables: { T: { columns: { c: { type: 'bogus' } } } } })).toThrow(/schema X column T.c.type: unknown atomic type "bogus"/);
    expect(() => parseDatabaseSchema([])).toThrow(/get_schema: <database-schema> must be an object/);
  });

  it('decodeRow / encodeRow name the table and column', () => {
    const port = SCHEMA.tables.get('Port')!;
    expect(decodeRow({ name: 'p', tag: 5, trunks: ['set', [1, 2]] }, port, 'select')).toEqual({ name: 'p', tag: 5, trunks: [1, 2] });
    expect(() => decodeRow({ nme: 'p' }, port, 'select')).toThrow('select: table Port has no column "nme"');
    expect(() => decodeRow({ tag: 'x' }, port, 'select')).toThrow('select Port.tag: expected an integer, got "x"');
    expect(encodeRow({ name: 'p', interfaces: [new NamedUuid('i')], tag: 341 }, port)).toEqual({ name: 'p', interfaces: ['set', [['named-uuid', 'i']]], tag: 341 });
    expect(() => encodeRow({ bogus: 1 }, port)).toThrow(/no column "bogus"/);
  });

  it('parseBridgeMappings', () => {
    expect(parseBridgeMappings('provider:br-provider,physnet2:br-p2')).toEqual(new Map([['provider', 'br-provider'], ['physnet2', 'br-p2']]));
    expect(parseBridgeMappings(undefined)).toEqual(new Map());
    expect(parseBridgeMappings('bad,:x,y:')).toEqual(new Map());
  });
});

describe('transact results (RFC 7047 §4.1.3)', () => {
  const ops: Operation[] = [{ op: 'insert', table: 'Bridge', row: { name: 'b' } }, { op: 'delete', table: 'Port', where: [] }];
  it('accepts well-formed results', () => {
    expect(checkTransactResult('db', ops, [{ uuid: ['uuid', U1] }, { count: 0 }])).toEqual([{ uuid: ['uuid', U1] }, { count: 0 }]);
  });
  it('reports the failing operation index and details', () => {
    const e = (() => {
      try {
        checkTransactResult('db', ops, [{ uuid: ['uuid', U1] }, { error: 'constraint violation', details: 'dup name' }]);
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(OvsdbTransactError);
    expect((e as OvsdbTransactError).operationIndex).toBe(1);
    expect((e as Error).message).toBe('transact on db: operation 1 (delete Port) failed: "constraint violation" (dup name)');
    expect(() => checkTransactResult('db', ops, [{ uuid: ['uuid', U1] }, { count: 1 }, { error: 'referential integrity violation' }])).toThrow(/the commit after 2 operations failed/);
  });
  it('rejects malformed results', () => {
    expect(() => checkTransactResult('db', ops, { a: 1 })).toThrow(/"result" must be an array/);
    expect(() => checkTransactResult('db', ops, [{ uuid: 'x' }, { count: 0 }])).toThrow(/result 0 \(insert\): "uuid" must be/);
    expect(() => checkTransactResult('db', ops, [{ uuid: ['uuid', U1] }, { count: -1 }])).toThrow(/result 1 \(delete\): "count" must be/);
    expect(() => checkTransactResult('db', ops, [{ uuid: ['uuid', U1] }])).toThrow(/1 results for 2 operations/);
  });
});
