import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonStreamError, JsonValueSplitter } from '../../src/ovsdb/jsonStream.js';

const enc = (s: string) => Buffer.from(s, 'utf8');
function splitAll(chunks: Uint8Array[], opts = {}): unknown[] {
  const sp = new JsonValueSplitter(opts);
  const out: unknown[] = [];
  for (const c of chunks) for (const t of sp.push(c)) out.push(JSON.parse(t));
  sp.end();
  return out;
}

describe('JsonValueSplitter', () => {
  it('splits back-to-back values with tricky strings', () => {
    const msgs = [
      { id: 1, result: ['a"}{', '\\', '\\"]', 'ünïcødé 🚀 €'], error: null },
      { method: 'update', params: ['m', { T: { k: '{"not":"json"}' } }], id: null },
      [1, [2, [3]]],
    ];
    const stream = msgs.map((m) => JSON.stringify(m)).join('\n \t');
    expect(splitAll([enc(stream)])).toEqual(msgs);
  });

  it('property: any split of the byte stream (every position, many pieces) yields the same messages', () => {
    const jsonValue = fc.jsonValue({ maxDepth: 4 }).map((v) => ({ id: 1, result: v, s: 'x"\\}🚀' }));
    fc.assert(
      fc.property(fc.array(jsonValue, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 6 }), (msgs, cuts) => {
        const bytes = enc(msgs.map((m) => JSON.stringify(m)).join(' '));
        const expected = msgs.map((m) => JSON.parse(JSON.stringify(m)));
        // every single cut position
        for (let i = 0; i <= bytes.length; i += Math.max(1, Math.floor(bytes.length / 64))) {
          expect(splitAll([bytes.subarray(0, i), bytes.subarray(i)])).toEqual(expected);
        }
        // arbitrary multi-way cuts (includes cuts inside multi-byte UTF-8 characters)
        const pos = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const pieces: Uint8Array[] = [];
        let prev = 0;
        for (const p of pos) {
          pieces.push(bytes.subarray(prev, p));
          prev = p;
        }
        pieces.push(bytes.subarray(prev));
        expect(splitAll(pieces)).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });

  it('every split position of a stream with a 4-byte character', () => {
    const bytes = enc(JSON.stringify({ a: '🚀"}' }) + JSON.stringify({ b: 'é' }));
    for (let i = 0; i <= bytes.length; i++) expect(splitAll([bytes.subarray(0, i), bytes.subarray(i)])).toEqual([{ a: '🚀"}' }, { b: 'é' }]);
  });

  it('byte-at-a-time feeding', () => {
    const bytes = enc(JSON.stringify({ x: ['\\"', '🚀'] }));
    expect(splitAll([...bytes].map((b) => Uint8Array.of(b)))).toEqual([{ x: ['\\"', '🚀'] }]);
  });

  it('rejects garbage, oversized, too deep, truncated and invalid UTF-8 with a clear error', () => {
    expect(() => splitAll([enc('{"a":1} hello')])).toThrow(/expected '\{' at the start of a JSON-RPC message, got 'h'/);
    expect(() => splitAll([enc('"bare"')])).toThrow(JsonStreamError);
    expect(() => splitAll([enc(`{"a":"${'x'.repeat(200)}"}`)], { maxMessageBytes: 100 })).toThrow(/exceeds the 100-byte limit/);
    // limit also holds when the message never ends and arrives in small pieces
    const sp = new JsonValueSplitter({ maxMessageBytes: 1000 });
    sp.push(enc('{"a":"'));
    expect(() => {
      for (let i = 0; i < 100; i++) sp.push(enc('x'.repeat(50)));
    }).toThrow(/exceeds the 1000-byte limit/);
    expect(() => sp.push(enc('{}'))).toThrow(JsonStreamError); // stays failed
    expect(() => splitAll([enc('['.repeat(600))])).toThrow(/nested deeper than 512/);
    expect(() => splitAll([enc('{"a":[1,2')])).toThrow(/stream ended inside a message/);
    expect(() => splitAll([Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d])])).toThrow(/not valid UTF-8/);
  });

  it('buffers only the unfinished message', () => {
    const sp = new JsonValueSplitter();
    expect(sp.push(enc('{"a":1}{"b":'))).toEqual(['{"a":1}']);
    expect(sp.bufferedBytes).toBe(5);
    expect(sp.push(enc('2}'))).toEqual(['{"b":2}']);
    expect(sp.bufferedBytes).toBe(0);
  });
});
