// An in-memory copy of monitored tables, kept current from monitor replies and notifications.
// Pure: the client feeds it <table-updates> (RFC 7047 §4.1.6, "update") or <table-updates2> (the OVS
// extension used by monitor_cond, "update2"); it returns what changed.
import { type Atom, type ColumnType, type DatabaseSchema, type Datum, OvsdbDecodeError, type Row, type TableSchema, decodeDatum, decodeRow, defaultDatum, isUuid } from './datum.js';

export interface RowChange {
  readonly table: string;
  readonly uuid: string;
  /** The row before the change (undefined for an insert). */
  readonly old?: Row;
  /** The row after the change (undefined for a delete). */
  readonly new?: Row;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export class Replica {
  private readonly data = new Map<string, Map<string, Row>>();

  /**
   * `columns`: the monitored columns per table (all of the table's when absent). update2 rows leave out
   * columns at their default value; those are filled in so every replicated row has every column.
   */
  constructor(private currentSchema: DatabaseSchema, private columns: Readonly<Record<string, readonly string[] | undefined>> = {}) {}

  get schema(): DatabaseSchema {
    return this.currentSchema;
  }

  /** Takes over another replica's rows and schema (a resync builds a fresh replica, then swaps it in whole). */
  replaceWith(other: Replica): void {
    this.currentSchema = other.currentSchema;
    this.columns = other.columns;
    this.data.clear();
    for (const [t, rows] of other.data) this.data.set(t, new Map(rows));
  }

  table(name: string): ReadonlyMap<string, Readonly<Row>> {
    return this.data.get(name) ?? new Map();
  }

  row(table: string, uuid: string): Readonly<Row> | undefined {
    return this.data.get(table)?.get(uuid);
  }

  clear(): void {
    this.data.clear();
  }

  /**
   * RFC 7047 §4.1.6 <table-updates>: {table: {uuid: {"old"?: row, "new"?: row}}}. "new" carries every
   * monitored column, so it replaces the row; no "new" deletes it. Validates everything before applying
   * anything, so a malformed notification leaves the replica unchanged.
   */
  applyUpdate(updates: unknown, where = 'update'): RowChange[] {
    const plan: { table: string; uuid: string; next: Row | undefined }[] = [];
    for (const [tname, tschema, rows] of this.tablesOf(updates, where)) {
      for (const [uuid, ru] of Object.entries(rows)) {
        const w = `${where} ${tname} row ${uuid}`;
        if (!isUuid(uuid)) throw new OvsdbDecodeError(`${where} ${tname}: row key ${JSON.stringify(uuid)} is not a UUID`);
        if (!isObj(ru)) throw new OvsdbDecodeError(`${w}: <row-update> must be an object`);
        if (ru.old === undefined && ru.new === undefined) throw new OvsdbDecodeError(`${w}: <row-update> has neither "old" nor "new"`);
        if (ru.old !== undefined) decodeRow(ru.old, tschema, `${w} old`);
        plan.push({ table: tname, uuid: uuid.toLowerCase(), next: ru.new === undefined ? undefined : decodeRow(ru.new, tschema, `${w} new`) });
      }
    }
    return plan.map(({ table, uuid, next }) => this.put(table, uuid, next));
  }

  /**
   * OVS <table-updates2> (ovsdb-server(7), monitor_cond): {table: {uuid: <row-update2>}} where
   * <row-update2> is {"initial": row} | {"insert": row} | {"delete": null} | {"modify": diff}. In a
   * diff a column holding at most one atom carries its new value, a set the elements to toggle, a map
   * the pairs to toggle (same key+value removes, new key adds, same key with another value replaces).
   */
  applyUpdate2(updates: unknown, where = 'update2'): RowChange[] {
    const plan: { table: string; uuid: string; next: Row | undefined }[] = [];
    const staged = new Map<string, Row | undefined>(); // table/uuid -> row after earlier entries of this same message
    for (const [tname, tschema, rows] of this.tablesOf(updates, where)) {
      for (const [rawUuid, ru] of Object.entries(rows)) {
        const w = `${where} ${tname} row ${rawUuid}`;
        if (!isUuid(rawUuid)) throw new OvsdbDecodeError(`${where} ${tname}: row key ${JSON.stringify(rawUuid)} is not a UUID`);
        const uuid = rawUuid.toLowerCase();
        if (!isObj(ru)) throw new OvsdbDecodeError(`${w}: <row-update2> must be an object`);
        const kinds = Object.keys(ru);
        const kind = kinds[0];
        if (kinds.length !== 1 || !['initial', 'insert', 'delete', 'modify'].includes(kind!)) {
          throw new OvsdbDecodeError(`${w}: <row-update2> must have exactly one of initial/insert/delete/modify, got ${JSON.stringify(kinds)}`);
        }
        let next: Row | undefined;
        if (kind === 'delete') next = undefined;
        else if (kind === 'modify') {
          const key = `${tname}/${uuid}`;
          const cur = staged.has(key) ? staged.get(key) : this.data.get(tname)?.get(uuid);
          if (!cur) throw new OvsdbDecodeError(`${w}: "modify" for a row the replica does not have`);
          next = applyRowDiff(cur, ru.modify, tschema, `${w} modify`);
        } else next = this.withDefaults(decodeRow(ru[kind!], tschema, `${w} ${kind}`), tschema);
        staged.set(`${tname}/${uuid}`, next);
        plan.push({ table: tname, uuid, next });
      }
    }
    return plan.map(({ table, uuid, next }) => this.put(table, uuid, next));
  }

  private withDefaults(row: Row, table: TableSchema): Row {
    for (const col of this.columns[table.name] ?? table.columns.keys()) {
      const cs = table.columns.get(col);
      if (cs && !(col in row) && col !== '_version' && col !== '_uuid') row[col] = defaultDatum(cs.type);
    }
    return row;
  }

  private *tablesOf(updates: unknown, where: string): Generator<[string, TableSchema, Record<string, unknown>]> {
    if (!isObj(updates)) throw new OvsdbDecodeError(`${where}: <table-updates> must be an object, got ${typeof updates}`);
    for (const [tname, rows] of Object.entries(updates)) {
      const tschema = this.schema.tables.get(tname);
      if (!tschema) throw new OvsdbDecodeError(`${where}: database ${this.schema.name} has no table "${tname}"`);
      if (!isObj(rows)) throw new OvsdbDecodeError(`${where} ${tname}: <table-update> must be an object`);
      yield [tname, tschema, rows];
    }
  }

  private put(table: string, uuid: string, next: Row | undefined): RowChange {
    let t = this.data.get(table);
    if (!t) this.data.set(table, (t = new Map()));
    const old = t.get(uuid);
    if (next === undefined) t.delete(uuid);
    else t.set(uuid, { ...next, _uuid: uuid });
    const change: { table: string; uuid: string; old?: Row; new?: Row } = { table, uuid };
    if (old) change.old = old;
    const now = t.get(uuid);
    if (now) change.new = now;
    return change;
  }
}

function applyRowDiff(cur: Row, diff: unknown, table: TableSchema, where: string): Row {
  if (!isObj(diff)) throw new OvsdbDecodeError(`${where}: the diff must be an object`);
  const next: Row = { ...cur };
  for (const [col, d] of Object.entries(diff)) {
    const cs = table.columns.get(col);
    if (!cs) throw new OvsdbDecodeError(`${where}: table ${table.name} has no column "${col}"`);
    next[col] = applyDatumDiff(cur[col], d, cs.type, `${where} ${table.name}.${col}`);
  }
  return next;
}

function applyDatumDiff(cur: Datum | undefined, d: unknown, type: ColumnType, where: string): Datum {
  // ovsdb-server sends the new value for any column that holds at most one atom (observed on OVS 3.1:
  // Port.tag 341 -> [] arrives as "tag": ["set", []]), and a toggle set only for real sets/maps.
  if (!type.value && type.max === 1) return decodeDatum(d, type, where);
  const loose: ColumnType = { ...type, min: 0, max: Infinity };
  const delta = decodeDatum(d, loose, where);
  if (type.value) {
    const m = new Map<Atom, Atom>(cur instanceof Map ? cur : []);
    for (const [k, v] of delta as Map<Atom, Atom>) {
      if (!m.has(k)) m.set(k, v);
      else if (m.get(k) === v) m.delete(k);
      else m.set(k, v);
    }
    return m;
  }
  const s = new Set<Atom>(Array.isArray(cur) ? cur : cur === null || cur === undefined ? [] : [cur as Atom]);
  for (const a of delta as Atom[]) {
    if (s.has(a)) s.delete(a);
    else s.add(a);
  }
  const atoms = [...s];
  if (type.max === 1) {
    if (atoms.length > 1) throw new OvsdbDecodeError(`${where}: diff leaves ${atoms.length} values in a column that holds at most one`);
    return atoms[0] ?? null;
  }
  return atoms;
}
