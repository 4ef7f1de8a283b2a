// Reference decoders for the differential fuzz: the spec read in the most obvious way, with no care
// for speed (all input in one growing buffer, each name and value decoded on its own). The fast
// decoders of src/protocol must agree with them on every input.
import { type FastCGIRecord, ProtocolError, type NameValuePair } from '../../src/protocol';

/** ReferenceDecoder: what RecordDecoder must do: records, errors and bufferedBytes. */
export class ReferenceDecoder {
  #bytes: Buffer = Buffer.alloc(0);
  #emitted = false; // the record at the front of #bytes was emitted; its padding is still to come
  #failed: ProtocolError | null = null;
  readonly records: FastCGIRecord[] = [];

  push(chunk: Buffer): void {
    if (this.#failed) throw this.#failed;
    this.#bytes = Buffer.concat([this.#bytes, chunk]);
    for (;;) {
      const b = this.#bytes;
      if (b.length < 8) return;
      if (b[0] !== 1) throw (this.#failed = new ProtocolError('FCGI_ERR_BAD_VERSION', `invalid header version ${b[0]}`));
      const contentLength = b.readUInt16BE(4);
      const paddingLength = b[6]!;
      if (!this.#emitted) {
        if (b.length < 8 + contentLength) return;
        this.records.push({
          version: 1, type: b[1]!, requestId: b.readUInt16BE(2), contentLength, paddingLength,
          content: Buffer.from(b.subarray(8, 8 + contentLength)),
        });
        this.#emitted = true;
      }
      if (b.length < 8 + contentLength + paddingLength) return;
      this.#bytes = b.subarray(8 + contentLength + paddingLength);
      this.#emitted = false;
    }
  }

  /** bufferedBytes: received bytes of the part of a record being read (header, content or padding). */
  get bufferedBytes(): number {
    const b = this.#bytes;
    if (b.length < 8) return b.length;
    const contentLength = b.readUInt16BE(4);
    return this.#emitted ? b.length - 8 - contentLength : b.length - 8;
  }

  get isAtRecordBoundary(): boolean {
    return this.#bytes.length === 0;
  }
}

/** referencePairs: name-value pairs per spec 3.4, each name and value decoded on its own. */
export function referencePairs(buf: Buffer): NameValuePair[] {
  const pairs: NameValuePair[] = [];
  let o = 0;
  const length = (): number => {
    if (o >= buf.length) throw new ProtocolError('FCGI_ERR_TRUNCATED_PAIR', 'length');
    if (buf[o]! < 128) return buf[o++]!;
    if (o + 4 > buf.length) throw new ProtocolError('FCGI_ERR_TRUNCATED_PAIR', 'length');
    const n = buf.readUInt32BE(o) & 0x7fffffff;
    o += 4;
    return n;
  };
  while (o < buf.length) {
    const n = length();
    const v = length();
    if (o + n + v > buf.length) throw new ProtocolError('FCGI_ERR_TRUNCATED_PAIR', 'bytes');
    pairs.push([buf.toString('latin1', o, o + n), buf.toString('latin1', o + n, o + n + v)]);
    o += n + v;
  }
  return pairs;
}
