// OVSDB schema (RFC 7047 §3.2) and data model codec (RFC 7047 §5.1).
// Wire form is the RFC's JSON; the decoded form is shaped by the column type:
//   map column          -> Map<key, value>
//   min 1, max 1        -> the atom
//   min 0, max 1        -> the atom or null (an optional value, e.g. Port.tag)
//   otherwise (a set)   -> atom[]
// UUID atoms decode to their string; encoding a uuid column takes a string or a NamedUuid.

export class OvsdbDecodeError extends Error {
  override readonly name = 'OvsdbDecodeError';
}

export type AtomicType = 'integer' | 'real' | 'boolean' | 'string' | 'uuid';
export const ATOMIC_TYPES: readonly AtomicType[] = ['integer', 'real', 'boolean', 'string', 'uuid'];

/** RFC 7047 §3.2 <base-type>, only the parts a client needs (constraints other than enum are the server's job). */
export interface BaseType {
  readonly type: AtomicType;
  readonly enum?: readonly Atom[];
  readonly refTable?: string;
}

/** RFC 7047 §3.2 <type>, normalised: max is a number or Infinity ("unlimited"). */
export interface ColumnType {
  readonly key: BaseType;
  readonly value?: BaseType;
  readonly min: number;
  readonly max: number;
}

export interface ColumnSchema {
  readonly type: ColumnType;
  readonly ephemeral: boolean;
  readonly mutable: boolean;
}

export interface TableSchema {
  readonly name: string;
  readonly columns: ReadonlyMap<string, ColumnSchema>;
  readonly isRoot: boolean;
  readonly indexes: readonly (readonly string[])[];
}

export interface DatabaseSchema {
  readonly name: string;
  readonly version: string;
  readonly tables: ReadonlyMap<string, TableSchema>;
}

export type Atom = string | number | boolean;
export type Datum = Atom | null | Atom[] | Map<Atom, Atom>;
export type Row = Record<string, Datum>;

/** `["named-uuid", name]` (RFC 7047 §5.1): refers to a row inserted earlier in the same transaction. */
export class NamedUuid {
  constructor(readonly name: string) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`named-uuid "${name}" must be an <id> (letters, digits, '_', not starting with a digit)`);
  }
}

export type WireAtom = string | number | boolean | ['uuid', string] | ['named-uuid', string];
export type WireDatum = WireAtom | ['set', WireAtom[]] | ['map', [WireAtom, WireAtom][]];

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
export const isUuid = (s: unknown): s is string => typeof s === 'string' && UUID_RE.test(s);

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown) => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

// ---------------------------------------------------------------- schema parsing (§3.2)

function parseBaseType(v: unknown, where: string): BaseType {
  if (typeof v === 'string') {
    if (!(ATOMIC_TYPES as readonly string[]).includes(v)) throw new OvsdbDecodeError(`${where}: unknown atomic type ${show(v)}`);
    return { type: v as AtomicType };
  }
  if (!isObj(v) || typeof v.type !== 'string' || !(ATOMIC_TYPES as readonly string[]).includes(v.type)) {
    throw new OvsdbDecodeError(`${where}: <base-type> must be an atomic type name or an object with "type", got ${show(v)}`);
  }
  const type = v.type as AtomicType;
  const out: { type: AtomicType; enum?: Atom[]; refTable?: string } = { type };
  if (typeof v.refTable === 'string') out.refTable = v.refTable;
  if (v.enum !== undefined) {
    const e = decodeDatum(v.enum, { key: { type }, min: 0, max: Infinity }, `${where}.enum`);
    out.enum = e as Atom[];
  }
  return out;
}

export function parseColumnType(v: unknown, where: string): ColumnType {
  if (typeof v === 'string') return { key: parseBaseType(v, where), min: 1, max: 1 };
  if (!isObj(v)) throw new OvsdbDecodeError(`${where}: <type> must be a string or object, got ${show(v)}`);
  const key = parseBaseType(v.key, `${where}.key`);
  const value = v.value === undefined ? undefined : parseBaseType(v.value, `${where}.value`);
  const min = v.min === undefined ? 1 : v.min;
  const max = v.max === undefined ? 1 : v.max === 'unlimited' ? Infinity : v.max;
  if (min !== 0 && min !== 1) throw new OvsdbDecodeError(`${where}.min must be 0 or 1, got ${show(min)}`);
  if (typeof max !== 'number' || max < 1 || max < min) throw new OvsdbDecodeError(`${where}.max must be a positive integer or "unlimited", got ${show(v.max)}`);
  return value ? { key, value, min, max } : { key, min, max };
}

export function parseDatabaseSchema(v: unknown): DatabaseSchema {
  if (!isObj(v)) throw new OvsdbDecodeError(`get_schema: <database-schema> must be an object, got ${show(v)}`);
  if (typeof v.name !== 'string') throw new OvsdbDecodeError(`get_schema: "name" must be a string, got ${show(v.name)}`);
  const where = `schema ${v.name}`;
  if (!isObj(v.tables)) throw new OvsdbDecodeError(`${where}: "tables" must be an object, got ${show(v.tables)}`);
  const tables = new Map<string, TableSchema>();
  for (const [tname, t] of Object.entries(v.tables)) {
    if (!isObj(t) || !isObj(t.columns)) throw new OvsdbDecodeError(`${where} table ${tname}: "columns" must be an object`);
    const columns = new Map<string, ColumnSchema>();
    for (const [cname, c] of Object.entries(t.columns)) {
      if (!isObj(c)) throw new OvsdbDecodeError(`${where} column ${tname}.${cname}: must be an object`);
      columns.set(cname, { type: parseColumnType(c.type, `${where} column ${tname}.${cname}.type`), ephemeral: c.ephemeral === true, mutable: c.mutable !== false });
    }
    // §3.2: every table has the implicit _uuid and _version columns.
    columns.set('_uuid', { type: { key: { type: 'uuid' }, min: 1, max: 1 }, ephemeral: false, mutable: false });
    columns.set('_version', { type: { key: { type: 'uuid' }, min: 1, max: 1 }, ephemeral: false, mutable: false });
    const indexes = Array.isArray(t.indexes) ? t.indexes.filter((i): i is string[] => Array.isArray(i) && i.every((c) => typeof c === 'string')) : [];
    tables.set(tname, { name: tname, columns, isRoot: t.isRoot === true, indexes });
  }
  return { name: v.name, version: typeof v.version === 'string' ? v.version : '', tables };
}

// ---------------------------------------------------------------- decode (§5.1)

function decodeAtom(v: unknown, base: BaseType, where: string): Atom {
  switch (base.type) {
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new OvsdbDecodeError(`${where}: expected an integer, got ${show(v)}`);
      break;
    case 'real':
      if (typeof v !== 'number') throw new OvsdbDecodeError(`${where}: expected a real, got ${show(v)}`);
      break;
    case 'boolean':
      if (typeof v !== 'boolean') throw new OvsdbDecodeError(`${where}: expected a boolean, got ${show(v)}`);
      break;
    case 'string':
      if (typeof v !== 'string') throw new OvsdbDecodeError(`${where}: expected a string, got ${show(v)}`);
      break;
    case 'uuid':
      if (!Array.isArray(v) || v.length !== 2 || v[0] !== 'uuid' || !isUuid(v[1])) throw new OvsdbDecodeError(`${where}: expected ["uuid", "<uuid>"], got ${show(v)}`);
      return (v[1] as string).toLowerCase();
  }
  return v as Atom;
}

/** True when `v` is the RFC's ["set", …] / ["map", …] wrapper rather than an atom (a uuid atom is also a 2-array). */
const isTagged = (v: unknown, tag: 'set' | 'map'): v is [string, unknown[]] => Array.isArray(v) && v.length === 2 && v[0] === tag && Array.isArray(v[1]);

export function decodeDatum(v: unknown, type: ColumnType, where: string): Datum {
  if (type.value) {
    if (!isTagged(v, 'map')) throw new OvsdbDecodeError(`${where}: expected ["map", [[key, value], ...]], got ${show(v)}`);
    const m = new Map<Atom, Atom>();
    for (const pair of v[1]) {
      if (!Array.isArray(pair) || pair.length !== 2) throw new OvsdbDecodeError(`${where}: map entry must be [key, value], got ${show(pair)}`);
      m.set(decodeAtom(pair[0], type.key, `${where} key`), decodeAtom(pair[1], type.value, `${where} value`));
    }
    return m;
  }
  // §5.1: a set with exactly one element may be sent as that element.
  const atoms = isTagged(v, 'set') ? v[1].map((a, i) => decodeAtom(a, type.key, `${where}[${i}]`)) : [decodeAtom(v, type.key, where)];
  if (type.min === 1 && type.max === 1) {
    if (atoms.length !== 1) throw new OvsdbDecodeError(`${where}: expected exactly one value, got ${atoms.length}`);
    return atoms[0]!;
  }
  if (type.max === 1) {
    if (atoms.length > 1) throw new OvsdbDecodeError(`${where}: expected at most one value, got ${atoms.length}`);
    return atoms[0] ?? null;
  }
  return atoms;
}

/** Decodes a <row> (§5.1) of `table`: columns the schema lacks are an error; absent columns are omitted. */
export function decodeRow(v: unknown, table: TableSchema, where: string): Row {
  if (!isObj(v)) throw new OvsdbDecodeError(`${where}: a row must be a JSON object, got ${show(v)}`);
  const row: Row = {};
  for (const [col, val] of Object.entries(v)) {
    const cs = table.columns.get(col);
    if (!cs) throw new OvsdbDecodeError(`${where}: table ${table.name} has no column "${col}"`);
    row[col] = decodeDatum(val, cs.type, `${where} ${table.name}.${col}`);
  }
  return row;
}

/** The value a column holds when a row omits it (OVS leaves default-valued columns out of update2 rows). */
export function defaultDatum(type: ColumnType): Datum {
  if (type.value) return new Map();
  if (type.min === 0) return type.max === 1 ? null : [];
  switch (type.key.type) {
    case 'integer':
    case 'real':
      return 0;
    case 'boolean':
      return false;
    case 'string':
      return '';
    case 'uuid':
      return '00000000-0000-0000-0000-000000000000';
  }
}

// ---------------------------------------------------------------- encode (§5.1)

export type EncodableAtom = Atom | NamedUuid;
export type EncodableDatum = EncodableAtom | null | readonly EncodableAtom[] | ReadonlyMap<Atom, EncodableAtom> | Readonly<Record<string, EncodableAtom>>;

function encodeAtom(v: unknown, base: BaseType, where: string): WireAtom {
  if (base.type === 'uuid') {
    if (v instanceof NamedUuid) return ['named-uuid', v.name];
    if (!isUuid(v)) throw new OvsdbDecodeError(`${where}: expected a UUID string or NamedUuid, got ${show(v)}`);
    return ['uuid', v];
  }
  return decodeAtom(v, base, where) as WireAtom;
}

/** Encodes a decoded-form value for a column of `type`. A plain object is accepted for maps with string keys. */
export function encodeDatum(v: EncodableDatum, type: ColumnType, where: string): WireDatum {
  if (type.value) {
    const entries: [unknown, unknown][] = v instanceof Map ? [...v.entries()] : isObj(v) && !(v instanceof NamedUuid) ? Object.entries(v) : (() => {
      throw new OvsdbDecodeError(`${where}: expected a Map or object for a map column, got ${show(v)}`);
    })();
    const vt = type.value;
    return ['map', entries.map(([k, val]) => [encodeAtom(k, type.key, `${where} key`), encodeAtom(val, vt, `${where} value`)] as [WireAtom, WireAtom])];
  }
  const list: unknown[] = v === null ? [] : Array.isArray(v) ? v : [v];
  if (list.length < type.min || list.length > type.max) throw new OvsdbDecodeError(`${where}: ${list.length} values, the column allows ${type.min}..${type.max}`);
  const atoms = list.map((a, i) => encodeAtom(a, type.key, `${where}[${i}]`));
  return atoms.length === 1 && type.max === 1 ? atoms[0]! : ['set', atoms];
}

/** Encodes a partial row (column -> decoded-form value) against `table`. */
export function encodeRow(row: Readonly<Record<string, EncodableDatum>>, table: TableSchema, where = `table ${table.name}`): Record<string, WireDatum> {
  const out: Record<string, WireDatum> = {};
  for (const [col, val] of Object.entries(row)) {
    const cs = table.columns.get(col);
    if (!cs) throw new OvsdbDecodeError(`${where}: table ${table.name} has no column "${col}"`);
    out[col] = encodeDatum(val, cs.type, `${where}.${col}`);
  }
  return out;
}

// Wire builders for hand-written operations.
export const wireUuid = (u: string): ['uuid', string] => ['uuid', u];
export const wireNamedUuid = (n: string): ['named-uuid', string] => ['named-uuid', n];
export const wireSet = (atoms: WireAtom[]): ['set', WireAtom[]] => ['set', atoms];
export const wireMap = (entries: Record<string, WireAtom> | [WireAtom, WireAtom][]): ['map', [WireAtom, WireAtom][]] =>
  ['map', Array.isArray(entries) ? entries : Object.entries(entries)];
