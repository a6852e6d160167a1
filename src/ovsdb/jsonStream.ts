// Splits an OVSDB byte stream into JSON texts. RFC 7047 §4 sends JSON-RPC 1.0 messages back to back over
// a stream with no delimiter, so the only framing is the JSON grammar itself: a message ends where its
// outermost object/array closes. The scanner works on bytes: every byte of a multi-byte UTF-8 sequence
// is >= 0x80, so it can never be mistaken for '"', '\\', '{', '}', '[' or ']', and a character split
// across two chunks is reassembled before the complete message is decoded (fatal UTF-8 decoding).

export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_NESTING = 512;

/** The stream can no longer be framed (garbage between messages, oversized, too deep, bad UTF-8). Fatal for the connection. */
export class JsonStreamError extends Error {
  override readonly name = 'JsonStreamError';
}

const QUOTE = 0x22, BACKSLASH = 0x5c, LBRACE = 0x7b, RBRACE = 0x7d, LBRACKET = 0x5b, RBRACKET = 0x5d;
const isJsonSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

export interface JsonSplitterOptions {
  maxMessageBytes?: number;
  maxNesting?: number;
}

/**
 * Incremental splitter. `push(chunk)` returns the complete JSON texts found so far (not yet parsed; the
 * caller runs JSON.parse so a syntax error inside one message names that message). Only objects and
 * arrays are accepted at top level: a JSON-RPC message is always an object, and a bare scalar could not
 * be delimited in a stream.
 */
export class JsonValueSplitter {
  private readonly maxBytes: number;
  private readonly maxNesting: number;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private failed: JsonStreamError | undefined;

  constructor(opts: JsonSplitterOptions = {}) {
    this.maxBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxNesting = opts.maxNesting ?? DEFAULT_MAX_NESTING;
  }

  /** Bytes buffered for an incomplete message (0 between messages). */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  push(chunk: Uint8Array): string[] {
    if (this.failed) throw this.failed;
    const out: string[] = [];
    let start = this.depth > 0 ? 0 : -1; // start of the current message inside this chunk
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.depth === 0) {
        if (isJsonSpace(b)) continue;
        if (b !== LBRACE && b !== LBRACKET) {
          return this.fail(`expected '{' at the start of a JSON-RPC message, got ${describeByte(b)} (byte ${i} of a ${chunk.length}-byte read)`);
        }
        this.depth = 1;
        start = i;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (b === BACKSLASH) this.escaped = true;
        else if (b === QUOTE) this.inString = false;
        continue;
      }
      if (b === QUOTE) this.inString = true;
      else if (b === LBRACE || b === LBRACKET) {
        if (++this.depth > this.maxNesting) return this.fail(`JSON nested deeper than ${this.maxNesting} levels`);
      } else if (b === RBRACE || b === RBRACKET) {
        if (--this.depth === 0) {
          const piece = chunk.subarray(start, i + 1);
          if (this.pendingBytes + piece.length > this.maxBytes) return this.tooBig(this.pendingBytes + piece.length);
          const bytes = this.pending.length === 0 ? piece : Buffer.concat([...this.pending, piece]);
          this.pending = [];
          this.pendingBytes = 0;
          start = -1;
          try {
            out.push(this.decoder.decode(bytes));
          } catch {
            return this.fail('a message is not valid UTF-8');
          }
        }
      }
    }
    if (start >= 0 && this.depth > 0) {
      const rest = chunk.subarray(start);
      if (this.pendingBytes + rest.length > this.maxBytes) return this.tooBig(this.pendingBytes + rest.length);
      // Copy: the caller may reuse its buffer.
      this.pending.push(Buffer.from(rest));
      this.pendingBytes += rest.length;
    }
    return out;
  }

  /** Call at end of stream: an unfinished message means the peer closed mid-message. */
  end(): void {
    if (this.failed) return;
    if (this.depth > 0) this.fail(`stream ended inside a message (${this.pendingBytes} bytes buffered)`);
  }

  private tooBig(n: number): never {
    return this.fail(`a message exceeds the ${this.maxBytes}-byte limit (${n} bytes buffered without an end)`);
  }

  private fail(msg: string): never {
    this.pending = [];
    this.pendingBytes = 0;
    this.failed = new JsonStreamError(msg);
    throw this.failed;
  }
}

function describeByte(b: number): string {
  return b >= 0x20 && b < 0x7f ? `'${String.fromCharCode(b)}'` : `byte 0x${b.toString(16).padStart(2, '0')}`;
}
