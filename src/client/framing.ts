import { FCGI_MAX_ALIGNED_CONTENT, FCGI_MAX_CONTENT_LENGTH, encodePairs } from '../protocol';
import { ClientError } from './errors';

/**
 * ParamsFraming: how a PARAMS stream is cut into records. Every kind is spec-legal (spec 3.4: the
 * stream is one byte sequence); web servers differ, and some responders only cope with one of them.
 */
export type ParamsFraming =
  /** stream: cut every `maxContent` bytes, pairs may straddle records (dualcgi's own client). */
  | { kind: 'stream'; maxContent?: number }
  /** one-record: everything in one record (nginx, mod_fcgid, lighttpd); over 65535 bytes is an error. */
  | { kind: 'one-record' }
  /** pair-boundaries: whole pairs packed into records of at most `maxContent` (mod_proxy_fcgi). */
  | { kind: 'pair-boundaries'; maxContent: number }
  /** split-pairs: every record boundary falls inside a pair. */
  | { kind: 'split-pairs' }
  /** bytewise: one byte per record. */
  | { kind: 'bytewise' };

/**
 * frameParams: the contents of the PARAMS records carrying `pairs`, without the empty record that
 * ends the stream (the client adds it). Throws CLIENT_ERR_LIMIT when one-record framing cannot hold them.
 */
export function frameParams(pairs: Iterable<readonly [string, string]>, framing: ParamsFraming): Buffer[] {
  const list = [...pairs];
  switch (framing.kind) {
    case 'stream':
      return cut(encodePairs(list), framing.maxContent ?? FCGI_MAX_ALIGNED_CONTENT);
    case 'one-record': {
      const bytes = encodePairs(list);
      if (bytes.length > FCGI_MAX_CONTENT_LENGTH) {
        throw new ClientError('CLIENT_ERR_LIMIT',
          `${bytes.length} bytes of params do not fit one PARAMS record (65535 at most)`);
      }
      return bytes.length === 0 ? [] : [bytes];
    }
    case 'pair-boundaries':
      return packPairs(list.map((pair) => encodePairs([pair])), framing.maxContent);
    case 'split-pairs':
      return splitPairs(list.map((pair) => encodePairs([pair])));
    case 'bytewise':
      return cut(encodePairs(list), 1);
  }
}

/** cut: `data` in pieces of at most `size` bytes. */
export function cut(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += size) out.push(data.subarray(offset, offset + size));
  return out;
}

/** packPairs: as many whole pairs per record as fit; a pair longer than a record is cut (unavoidable). */
function packPairs(encoded: Buffer[], maxContent: number): Buffer[] {
  const out: Buffer[] = [];
  let current: Buffer[] = [];
  let size = 0;
  const flush = (): void => {
    if (size > 0) out.push(Buffer.concat(current, size));
    current = [];
    size = 0;
  };
  for (const pair of encoded) {
    if (size + pair.length > maxContent) flush();
    if (pair.length > maxContent) {
      out.push(...cut(pair, maxContent));
      continue;
    }
    current.push(pair);
    size += pair.length;
  }
  flush();
  return out;
}

/**
 * splitPairs: each pair is cut in the middle; a record holds the second half of one pair and the
 * first half of the next, so a responder that decodes records one by one (fastcgi-stream, FIELD-NOTES
 * "Peers") sees only broken pairs.
 */
function splitPairs(encoded: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  let carry: Buffer = Buffer.alloc(0);
  for (const pair of encoded) {
    const half = Math.max(1, pair.length >> 1);
    out.push(...cut(Buffer.concat([carry, pair.subarray(0, half)]), FCGI_MAX_ALIGNED_CONTENT));
    carry = pair.subarray(half);
  }
  if (carry.length > 0) out.push(...cut(carry, FCGI_MAX_ALIGNED_CONTENT));
  return out;
}
