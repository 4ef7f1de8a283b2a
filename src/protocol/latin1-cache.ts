/**
 * Latin1Cache: byte ranges to latin-1 strings, giving back the same string for bytes seen before.
 *
 * A web server sends the same ~30 param names on every request, and most values too (the server's
 * name and address, the method, the protocol, the Host and User-Agent a client repeats). Decoding
 * each as a new string was a fifth of a hello request's JavaScript time behind nginx (a C++ call and
 * an allocation per string; bench/ nginx suite, hello-c32). Hashing and comparing a few dozen bytes
 * in JavaScript is cheaper, and a string seen before already has its hash for the params Map.
 *
 * Direct-mapped and fixed in size: a client that sends a new value every time only evicts entries,
 * it never grows memory. Long strings are not cached (they rarely repeat and cost most to compare).
 */
export class Latin1Cache {
  readonly #strings: Array<string | undefined>;
  readonly #hashes: Int32Array;
  readonly #mask: number;
  readonly #maxLength: number;

  /** slots: a power of two; maxLength: longer strings are decoded every time. */
  constructor(slots = 1024, maxLength = 64) {
    if (slots <= 0 || (slots & (slots - 1)) !== 0) throw new RangeError(`slots must be a power of two, got ${slots}`);
    this.#strings = new Array<string | undefined>(slots).fill(undefined);
    this.#hashes = new Int32Array(slots);
    this.#mask = slots - 1;
    this.#maxLength = maxLength;
  }

  /** get: the latin-1 string of buf[start, end). */
  get(buf: Uint8Array, start: number, end: number): string {
    const length = end - start;
    if (length === 0) return '';
    if (length > this.#maxLength) return latin1(buf, start, end);
    // FNV-1a over the bytes, with the length folded in.
    let hash = 0x811c9dc5 ^ length;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ buf[i]!, 0x01000193);
    const slot = hash & this.#mask;
    const known = this.#strings[slot];
    if (known !== undefined && this.#hashes[slot] === hash && known.length === length && sameBytes(known, buf, start)) return known;
    const fresh = latin1(buf, start, end);
    this.#strings[slot] = fresh;
    this.#hashes[slot] = hash;
    return fresh;
  }
}

function sameBytes(s: string, buf: Uint8Array, start: number): boolean {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) !== buf[start + i]) return false;
  }
  return true;
}

function latin1(buf: Uint8Array, start: number, end: number): string {
  return Buffer.prototype.toString.call(buf, 'latin1', start, end);
}
