// "transact" operations (RFC 7047 §5.2) and checking their results (§4.1.3). Pure.
import type { WireDatum } from './datum.js';
import { describeServerError, OvsdbProtocolError } from './rpc.js';

export type ConditionFunction = '<' | '<=' | '==' | '!=' | '>=' | '>' | 'includes' | 'excludes';
export type Condition = [column: string, fn: ConditionFunction, value: WireDatum];
export type Mutator = '+=' | '-=' | '*=' | '/=' | '%=' | 'insert' | 'delete';
export type Mutation = [column: string, mutator: Mutator, value: WireDatum];
export type WireRow = Record<string, WireDatum>;

export type Operation =
  | { op: 'insert'; table: string; row: WireRow; 'uuid-name'?: string } // §5.2.1
  | { op: 'select'; table: string; where: Condition[]; columns?: string[] } // §5.2.2
  | { op: 'update'; table: string; where: Condition[]; row: WireRow } // §5.2.3
  | { op: 'mutate'; table: string; where: Condition[]; mutations: Mutation[] } // §5.2.4
  | { op: 'delete'; table: string; where: Condition[] } // §5.2.5
  | { op: 'wait'; table: string; where: Condition[]; columns: string[]; until: '==' | '!='; rows: WireRow[]; timeout?: number } // §5.2.6
  | { op: 'commit'; durable: boolean } // §5.2.7
  | { op: 'abort' } // §5.2.8
  | { op: 'comment'; comment: string } // §5.2.9
  | { op: 'assert'; lock: string }; // §5.2.10

export type OperationResult =
  | { uuid: ['uuid', string] }
  | { rows: Record<string, unknown>[] }
  | { count: number }
  | Record<string, never>;

/** A transaction failed: `operationIndex` is the failing operation (== operations.length for a commit-time error, §4.1.3). */
export class OvsdbTransactError extends Error {
  override readonly name = 'OvsdbTransactError';
  constructor(
    readonly db: string,
    readonly operationIndex: number,
    readonly operation: Operation | undefined,
    readonly error: string,
    readonly details: string | undefined,
  ) {
    const what = operation ? `operation ${operationIndex} (${operation.op}${'table' in operation ? ` ${operation.table}` : ''})` : `the commit after ${operationIndex} operations`;
    super(`transact on ${db}: ${what} failed: ${describeServerError(error, details)}`);
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates a "transact" result against the operations sent; throws OvsdbTransactError for the first error object. */
export function checkTransactResult(db: string, ops: readonly Operation[], result: unknown): OperationResult[] {
  if (!Array.isArray(result)) throw new OvsdbProtocolError(`transact on ${db}: "result" must be an array, got ${JSON.stringify(result)?.slice(0, 80)}`);
  // §4.1.3: one element per operation, plus possibly one more holding a commit error.
  for (let i = 0; i < result.length; i++) {
    const r = result[i];
    if (isObj(r) && r.error !== undefined && r.error !== null) {
      throw new OvsdbTransactError(db, i, ops[i], String(r.error), typeof r.details === 'string' ? r.details : r.details === undefined ? undefined : JSON.stringify(r.details));
    }
  }
  if (result.length < ops.length) throw new OvsdbProtocolError(`transact on ${db}: ${result.length} results for ${ops.length} operations and no error object`);
  if (result.length > ops.length) throw new OvsdbProtocolError(`transact on ${db}: ${result.length} results for ${ops.length} operations`);
  return ops.map((op, i) => {
    const r = result[i];
    const where = `transact on ${db}: result ${i} (${op.op})`;
    if (!isObj(r)) throw new OvsdbProtocolError(`${where} must be an object, got ${JSON.stringify(r)}`);
    if (op.op === 'insert' && !(Array.isArray(r.uuid) && r.uuid[0] === 'uuid' && typeof r.uuid[1] === 'string')) {
      throw new OvsdbProtocolError(`${where}: "uuid" must be ["uuid", "<uuid>"], got ${JSON.stringify(r.uuid)}`);
    }
    if (op.op === 'select' && !(Array.isArray(r.rows) && r.rows.every(isObj))) throw new OvsdbProtocolError(`${where}: "rows" must be an array of objects`);
    if ((op.op === 'update' || op.op === 'mutate' || op.op === 'delete') && !(typeof r.count === 'number' && Number.isInteger(r.count) && r.count >= 0)) {
      throw new OvsdbProtocolError(`${where}: "count" must be a non-negative integer, got ${JSON.stringify(r.count)}`);
    }
    return r as OperationResult;
  });
}
