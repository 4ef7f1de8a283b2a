import {
  encodeBeginRequest, encodeGetValues, encodeParams, encodeRecord, encodeStream, FCGI_KEEP_CONN, RecordType, Role,
} from '../../src/protocol';

/** Rng: a small seeded PRNG (mulberry32) so every failing stream can be reproduced from its seed. */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  next(): number {
    let t = (this.#state += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

/** validStream: a well-formed request stream of a random shape (what mutations start from). */
export function validStream(rng: Rng): Buffer[] {
  const id = 1 + rng.int(4);
  const records: Buffer[] = [];
  if (rng.int(4) === 0) records.push(encodeGetValues(['FCGI_MAX_CONNS', 'FCGI_MPXS_CONNS']));
  records.push(encodeBeginRequest(id, rng.int(5) === 0 ? 1 + rng.int(5) : Role.Responder, rng.int(2) ? FCGI_KEEP_CONN : 0));
  const pairs: Array<[string, string]> = [['REQUEST_METHOD', rng.int(2) ? 'GET' : 'POST'], ['REQUEST_URI', `/f/${rng.int(1000)}`]];
  for (let i = rng.int(6); i > 0; i--) pairs.push([`HTTP_X_${i}`, 'v'.repeat(rng.int(300))]);
  records.push(...encodeParams(id, pairs, 1 + rng.int(200)));
  const body = rng.bytes(rng.int(3000));
  records.push(...encodeStream(RecordType.Stdin, id, body, 1 + rng.int(2000)), encodeRecord(RecordType.Stdin, id));
  if (rng.int(5) === 0) records.push(encodeRecord(RecordType.AbortRequest, id));
  return records;
}

/** mutate: one structure-aware change: flip bits, corrupt a header field, cut, duplicate, splice garbage. */
export function mutate(rng: Rng, records: Buffer[]): Buffer {
  const list: Buffer[] = records.map((r) => Buffer.from(r) as Buffer);
  const pick = (): Buffer => list[rng.int(list.length)]!;
  switch (rng.int(9)) {
    case 0: { const r = pick(); r[rng.int(r.length)] ^= 1 << rng.int(8); break; }
    case 1: pick()[0] = rng.int(256); break;                       // version
    case 2: pick()[1] = rng.int(256); break;                       // type
    case 3: { const r = pick(); r.writeUInt16BE(rng.int(65536), 4); break; } // contentLength lies
    case 4: { const r = pick(); r[6] = rng.int(256); break; }      // paddingLength lies
    case 5: list.splice(rng.int(list.length), 0, pick());          // duplicate a record
      break;
    case 6: list.splice(rng.int(list.length), 1);                  // drop a record
      break;
    case 7: list.splice(rng.int(list.length), 0, rng.bytes(1 + rng.int(64))); // garbage
      break;
    default: { const all = Buffer.concat(list); return all.subarray(0, rng.int(all.length)); } // truncate
  }
  return Buffer.concat(list);
}

/** splitRandomly: the same bytes in random chunks, as a socket may deliver them. */
export function splitRandomly(rng: Rng, buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length;) {
    const n = 1 + rng.int(Math.min(buf.length - i, rng.int(3) === 0 ? 8 : 4096));
    out.push(buf.subarray(i, i + n));
    i += n;
  }
  return out;
}
