// OVSDB (src/ovsdb): the stream splitter, the JSON-RPC connection, datum/schema decoders and the replica.
// Contracts: JsonValueSplitter throws JsonStreamError (fatal for the stream); datum, schema and replica
// decoders throw OvsdbDecodeError; JsonRpcConnection never throws, it reports through its handlers.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { decodeRow, OvsdbDecodeError, parseDatabaseSchema } from '../../../src/ovsdb/datum.js';
import { JsonStreamError, JsonValueSplitter } from '../../../src/ovsdb/jsonStream.js';
import { Replica } from '../../../src/ovsdb/replica.js';
import { JsonRpcConnection } from '../../../src/ovsdb/rpc.js';
import { mutateJson, randomJson, type Json } from '../json.js';
import { bytesInput } from '../mutate.js';
import type { Rng } from '../random.js';
import { InvariantViolation, type FuzzTarget } from '../target.js';

const setOf = (key: Json) => ({ key, min: 0, max: 'unlimited' });
const SCHEMA_JSON = {
  name: 'Open_vSwitch',
  version: '8.3.1',
  tables: {
    Bridge: { columns: { name: { type: 'string' }, ports: { type: setOf({ type: 'uuid', refTable: 'Port' }) }, external_ids: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } } } },
    Port: { columns: { name: { type: 'string' }, interfaces: { type: { key: { type: 'uuid', refTable: 'Interface' }, min: 1, max: 'unlimited' } }, tag: { type: { key: { type: 'integer', minInteger: 0, maxInteger: 4095 }, min: 0, max: 1 } }, trunks: { type: { key: 'integer', min: 0, max: 4096 } } } },
    Interface: { columns: { name: { type: 'string' }, type: { type: 'string' }, ofport: { type: { key: 'integer', min: 0, max: 1 } }, mtu: { type: { key: 'real', min: 0, max: 1 } }, admin_state: { type: { key: 'boolean', min: 0, max: 1 } }, options: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } } } },
  },
};
const SCHEMA = parseDatabaseSchema(SCHEMA_JSON);
const U = (n: number) => `00000000-0000-0000-0000-${n.toString().padStart(12, '0')}`;
const KEYS = ['Bridge', 'Port', 'Interface', 'name', 'ports', 'interfaces', 'tag', 'trunks', 'type', 'ofport', 'mtu', 'admin_state', 'options', 'external_ids', 'uuid', 'set', 'map', 'old', 'new', 'initial', 'insert', 'delete', 'modify', U(1), U(2), U(3), U(4), 'method', 'params', 'id', 'result', 'error', 'update', 'update2', 'echo'];

function validUpdate2(rng: Rng): Json {
  const port = U(rng.range(1, 4));
  const iface = U(rng.range(5, 8));
  return rng.pick<Json>([
    { Port: { [port]: { initial: { name: 'p1', interfaces: ['uuid', iface], tag: rng.int(4096), trunks: ['set', [1, 2, 3]] } } } },
    { Port: { [port]: { insert: { name: 'p2', interfaces: ['set', [['uuid', iface], ['uuid', U(9)]]] } } }, Interface: { [iface]: { insert: { name: 'i', type: 'internal', options: ['map', [['k', 'v']]] } } } },
    { Port: { [U(1)]: { modify: { tag: ['set', []], trunks: ['set', [7]], name: 'renamed' } } } },
    { Bridge: { [U(20)]: { modify: { ports: ['set', [['uuid', U(2)]]], external_ids: ['map', [['a', 'b']]] } } } },
    { Port: { [U(2)]: { delete: null } } },
  ]);
}
function validUpdate(rng: Rng): Json {
  const row = { name: 'p', interfaces: ['uuid', U(5)], tag: ['set', []] };
  return rng.pick<Json>([{ Port: { [U(rng.range(1, 4))]: { new: row } } }, { Port: { [U(1)]: { old: row, new: { ...row, tag: 3 } } } }, { Port: { [U(2)]: { old: row } } }]);
}

function freshReplica(): Replica {
  const r = new Replica(SCHEMA);
  r.applyUpdate2({
    Bridge: { [U(20)]: { initial: { name: 'br-int', ports: ['set', [['uuid', U(1)], ['uuid', U(2)]]] } } },
    Port: { [U(1)]: { initial: { name: 'p1', interfaces: ['uuid', U(5)], tag: 10 } }, [U(2)]: { initial: { name: 'p2', interfaces: ['uuid', U(6)] } } },
    Interface: { [U(5)]: { initial: { name: 'i5', type: '' } }, [U(6)]: { initial: { name: 'i6', type: 'internal' } } },
  });
  return r;
}

const jsonInput = (rng: Rng, valid: () => Json): Json => {
  const r = rng.int(10);
  if (r < 2) return randomJson(rng, 4, KEYS);
  if (r < 3) return valid();
  let v = valid();
  for (let i = rng.range(1, 3); i > 0; i--) v = mutateJson(rng, v, KEYS);
  return v;
};

const isDecodeError = (e: unknown) => e instanceof OvsdbDecodeError;

export const ovsdbReplicaTarget: FuzzTarget<{ kind: 'update' | 'update2'; value: Json }> = {
  name: 'ovsdb.replica',
  covers: 'Replica.applyUpdate / applyUpdate2 with random and mutated <table-updates>',
  allowed: isDecodeError,
  generate(rng) {
    const kind = rng.chance(0.7) ? 'update2' : 'update';
    return { kind, value: jsonInput(rng, () => (kind === 'update2' ? validUpdate2(rng) : validUpdate(rng))) };
  },
  run({ kind, value }) {
    const r = freshReplica();
    const before = JSON.stringify([...r.table('Port')].map(([k, v]) => [k, Object.keys(v)]));
    try {
      if (kind === 'update2') r.applyUpdate2(value);
      else r.applyUpdate(value);
    } catch (e) {
      // A refused update must leave the replica as it was (the caller resyncs from it).
      if (e instanceof OvsdbDecodeError && JSON.stringify([...r.table('Port')].map(([k, v]) => [k, Object.keys(v)])) !== before) {
        throw new InvariantViolation(`refused update changed the replica: ${e.message}`);
      }
      throw e;
    }
    return 'accepted';
  },
  show: ({ kind, value }) => `${kind} ${JSON.stringify(value)}`,
};

export const ovsdbDatumTarget: FuzzTarget<{ schema: boolean; table: string; value: Json }> = {
  name: 'ovsdb.datum',
  covers: 'parseDatabaseSchema (mutated schemas), decodeRow/decodeDatum (random rows per table)',
  allowed: isDecodeError,
  generate(rng) {
    if (rng.chance(0.3)) return { schema: true, table: '', value: jsonInput(rng, () => SCHEMA_JSON as unknown as Json) };
    const table = rng.pick(['Bridge', 'Port', 'Interface']);
    return { schema: false, table, value: jsonInput(rng, () => ({ name: 'x', ...(table === 'Port' ? { interfaces: ['uuid', U(1)], tag: 5, trunks: ['set', [1, 4095]] } : table === 'Interface' ? { ofport: ['set', []], mtu: 1500.5, admin_state: true, options: ['map', [['a', 'b']]] } : { ports: ['set', []] }) })) };
  },
  run({ schema, table, value }) {
    if (schema) parseDatabaseSchema(value);
    else decodeRow(value, SCHEMA.tables.get(table)!, `fuzz ${table}`);
    return 'accepted';
  },
  show: (i) => JSON.stringify(i),
};

function rpcText(rng: Rng): Uint8Array {
  const valid = (): Json =>
    rng.pick<Json>([
      { id: 1, result: [{}], error: null },
      { id: null, method: 'update2', params: [null, validUpdate2(rng)] },
      { id: 'echo', method: 'echo', params: [] },
      { id: null, method: 'locked', params: ['l'] },
      { id: 1, result: null, error: 'not supported', details: 'x' },
    ]);
  const n = rng.range(1, 3);
  return Buffer.from(Array.from({ length: n }, () => JSON.stringify(jsonInput(rng, valid))).join(rng.pick(['', '\n', ' '])));
}

function streamInput(rng: Rng): Uint8Array[] {
  const bytes = rng.chance(0.8) ? bytesInput(rng, () => rpcText(rng), [], 200) : rpcText(rng);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; ) {
    const n = rng.range(1, bytes.length - at);
    chunks.push(bytes.subarray(at, at + n));
    at += n;
  }
  return chunks;
}
const showChunks = (cs: Uint8Array[]) => cs.map((c) => JSON.stringify(Buffer.from(c).toString('latin1'))).join(' + ');

export const ovsdbStreamTarget: FuzzTarget<Uint8Array[]> = {
  name: 'ovsdb.stream',
  covers: 'JsonValueSplitter.push/end over random and mutated JSON-RPC text cut at random points',
  allowed: (e) => e instanceof JsonStreamError,
  generate: streamInput,
  run(chunks) {
    const s = new JsonValueSplitter({ maxMessageBytes: 4096, maxNesting: 32 });
    let n = 0;
    for (const c of chunks) for (const t of s.push(c)) if (t.length > 4096 + 8 || !/^[[{]/.test(t)) throw new InvariantViolation(`splitter returned ${JSON.stringify(t.slice(0, 40))}`) ; else n++;
    s.end();
    return n > 0 ? 'accepted' : 'rejected';
  },
  show: showChunks,
};

class FakeSocket extends EventEmitter {
  write(): boolean {
    return true;
  }
  destroy(): void {}
}

export const ovsdbRpcTarget: FuzzTarget<Uint8Array[]> = {
  name: 'ovsdb.rpc',
  covers: 'JsonRpcConnection receiving random/mutated JSON-RPC (replies, notifications, requests); never throws',
  generate: streamInput,
  run(chunks) {
    let errors = 0;
    let closed = 0;
    const sock = new FakeSocket();
    const conn = new JsonRpcConnection(sock as unknown as Duplex, {
      onNotification: () => {},
      onProtocolError: () => errors++,
      onClose: () => closed++,
    });
    conn.request('transact', []).catch(() => {});
    for (const c of chunks) sock.emit('data', Buffer.from(c.buffer, c.byteOffset, c.byteLength));
    sock.emit('end');
    if (closed !== 1) throw new InvariantViolation(`onClose called ${closed} times`);
    return errors ? 'rejected' : 'accepted';
  },
  show: showChunks,
};
