/**
 * The wire mirror's redaction in the serving process (wire-mirror.ts): where a response's head
 * ends, and secret values overwritten in the copies of heads and PARAMS streams (same length, so a
 * reader can still cut the stream at its records; it shows those values as redacted).
 */
import { isSecretParamLength, isSecretParamName, SECRET_HEADER_NAMES } from './redact';
import { MASK_BYTE } from './wire-format';

/**
 * headEnd: how many bytes of `buf[from, to)` belong to a response head: up to and with its
 * `\r\n\r\n` (positive), or all of them (negative: the head goes on), at most `limit`. A head
 * and its blank line arrive in one write from node:http and the fetch adapter.
 */
export function headEnd(buf: Buffer, from: number, to: number, limit: number): number {
  // The last clean head again (every response of a second, behind the same app code): one
  // comparison instead of a search and maskHead's own comparison (bench/README "trace", sixth round).
  const n = lastCleanLength;
  knownClean = n > 0 && n <= to - from && n <= limit && buf.compare(lastClean, 0, n, from, from + n) === 0;
  if (knownClean) return n;
  const end = buf.indexOf(HEAD_END, from);
  if (end !== -1 && end + 4 <= to && end + 4 - from <= limit) return end + 4 - from;
  return -Math.max(1, Math.min(to - from, limit));
}

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
/** knownClean: the last headEnd found the last clean head again (nothing to mask). */
let knownClean = false;

/** headKnownClean: the last headEnd found the last clean head again: maskHead has nothing to do. */
export function headKnownClean(): boolean {
  return knownClean;
}

/**
 * maskHead: the values of secret header lines (Set-Cookie, Cookie, Authorization,
 * Proxy-Authorization; any case) in `buf[from, to)` overwritten; true when there was one. A head
 * like the last clean one is known clean with one comparison (the Date line changes once a second).
 */
export function maskHead(buf: Buffer, from: number, to: number, complete: boolean): boolean {
  const n = to - from;
  if (n === lastCleanLength && buf.compare(lastClean, 0, n, from, to) === 0) return false;
  let masked = false;
  let line = from;
  while (line < to) {
    let eol = buf.indexOf(0x0a, line);
    if (eol === -1 || eol > to) eol = to;
    const colon = buf.indexOf(0x3a, line);
    if (colon !== -1 && colon < eol && isSecretHeaderBytes(buf, line, colon)) {
      const stop = eol > line && buf[eol - 1] === 0x0d ? eol - 1 : eol;
      for (let i = colon + 1; i < stop; i++) if (buf[i] !== 0x20) buf[i] = MASK_BYTE;
      masked = true;
    }
    line = eol + 1;
  }
  // Only a whole head (from its start to its blank line) is kept: headEnd takes it for one.
  if (!masked && complete && n <= lastClean.length) {
    buf.copy(lastClean, 0, from, to);
    lastCleanLength = n;
  }
  return masked;
}

const lastClean = Buffer.alloc(1024);
let lastCleanLength = -1;

/** cleanHead, cleanHeadLength: the last clean head (its first cleanHeadLength() bytes; -1: none yet), for the mirror's own comparison (WireMirror#knownHead). */
export function cleanHead(): Buffer {
  return lastClean;
}

export function cleanHeadLength(): number {
  return lastCleanLength;
}

const SECRET_HEADER_BYTES = SECRET_HEADER_NAMES.map((s) => Buffer.from(s, 'latin1'));

function isSecretHeaderBytes(buf: Buffer, from: number, to: number): boolean {
  const n = to - from;
  for (const name of SECRET_HEADER_BYTES) {
    if (name.length !== n) continue;
    let i = 0;
    while (i < n && (buf[from + i]! | 0x20) === name[i]) i++;
    if (i === n) return true;
  }
  return false;
}

/** hasSecretName: a secret param among the names (redact.ts); a length test first, the names' lengths being few. */
export function hasSecretName(names: readonly string[]): boolean {
  for (let i = 0; i < names.length; i++) if (isSecretParamName(names[i]!)) return true;
  return false;
}

/** maskParams: the values of secret params in the PARAMS stream at `buf[from, to)` overwritten (the slow path: only when there are some). */
export function maskParams(buf: Buffer, from: number, to: number): void {
  let i = from;
  while (i < to) {
    let nameLen = buf[i]!;
    if (nameLen > 127) {
      if (i + 4 > to) return;
      nameLen = buf.readUInt32BE(i) & 0x7fffffff;
      i += 4;
    } else i += 1;
    if (i >= to) return;
    let valueLen = buf[i]!;
    if (valueLen > 127) {
      if (i + 4 > to) return;
      valueLen = buf.readUInt32BE(i) & 0x7fffffff;
      i += 4;
    } else i += 1;
    if (i + nameLen + valueLen > to) return;
    // The length test before making the name's string: only four lengths can be a secret's.
    if (isSecretParamLength(nameLen) && isSecretParamName(buf.toString('latin1', i, i + nameLen))) {
      buf.fill(MASK_BYTE, i + nameLen, i + nameLen + valueLen);
    }
    i += nameLen + valueLen;
  }
}

