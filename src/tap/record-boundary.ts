import { FCGI_HEADER_LEN, FCGI_VERSION_1 } from '../protocol';

/**
 * RecordBoundary: where FastCGI records start in one direction of a connection, followed from its
 * first byte by their headers alone (version, contentLength, paddingLength; spec 3.3), so that a
 * trace which begins while the connection is open (a dashboard started after nginx opened its
 * kept-alive connections) can decode from the next record instead of from the middle of one.
 * Nothing is copied; a header split across chunks is read across them.
 */
export class RecordBoundary {
  /** lost: the bytes stopped looking like records (bad version); no boundary is trusted after that. */
  lost = false;
  /** #headerAt: bytes of the current header seen, 0 at a boundary. */
  #headerAt = 0;
  #contentLength = 0;
  #bodyLength = 0;
  /** #skip: content and padding bytes of the current record still to pass. */
  #skip = 0;

  /** next: the offset of the first record that begins in `chunk`, or -1; the whole chunk is passed over. */
  next(chunk: Buffer): number {
    let first = -1;
    let i = 0;
    while (i < chunk.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - i);
        this.#skip -= n;
        i += n;
        continue;
      }
      if (this.#headerAt === 0 && first === -1) first = i;
      this.#headerByte(chunk[i]!);
      if (this.lost) return -1;
      i++;
    }
    return first;
  }

  #headerByte(byte: number): void {
    switch (this.#headerAt) {
      case 0:
        if (byte !== FCGI_VERSION_1) this.lost = true;
        break;
      case 4:
        this.#contentLength = byte << 8;
        break;
      case 5:
        this.#contentLength |= byte;
        break;
      case 6:
        this.#bodyLength = this.#contentLength + byte;
        break;
      default:
    }
    this.#headerAt++;
    if (this.#headerAt === FCGI_HEADER_LEN) {
      this.#headerAt = 0;
      this.#skip = this.#bodyLength;
    }
  }
}
