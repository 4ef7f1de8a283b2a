/**
 * The wire mirror's frames (wire-mirror.ts writes them, wire-decode.ts reads them): what the
 * serving process captured of its FastCGI traffic, sent to a trace socket as base64 in one
 * `ev: "wire"` NDJSON line per batch, and decoded into trace events by the reader (like tcpdump's
 * capture and wireshark's dissectors). Numbers are little-endian.
 *
 *   TIME    u8 1, f64 epoch ms                                   the time of the frames after it
 *   RECORD  u8 2 (in) | 3 (out), u8 flags, u32 conn, u32 rid, the record's 8-byte header as sent,
 *           u32 n, n bytes of its content (what the redaction policy lets through; see flags)
 *   CONT    u8 4, u8 flags (LAST), u32 conn, u32 n, n bytes: more of the connection's record that
 *           arrived in pieces (RECORD with PIECE); LAST: its last piece is in
 *   PARAMS  u8 5, u8 flags (MASKED), u32 conn, u32 rid, u16 requestId, u32 n, n bytes: the request's
 *           whole PARAMS stream, once it is complete
 *   CLOSE   u8 6, u32 conn: the connection closed (its requests in flight were aborted)
 *   DELTA   u8 7, u8 flags (MASKED), u32 conn, u32 rid, u16 requestId, u32 p, u32 s, u32 n, n bytes:
 *           a request's PARAMS stream as a change from the base (the last PARAMS frame of this
 *           trace connection): the base's first p bytes, these n bytes (whole pairs), the base's
 *           last s bytes. A reader without a base (none yet, or p + s longer than it) has no params.
 *
 * `rid` is the number in the request's rid (`<pid>-<number>`); 0 for records of no request in
 * flight (management records, a refused BEGIN_REQUEST, a web server's STDIN after END_REQUEST).
 *
 * A wire line's head may carry `at`: byte positions in its frames, one per line that follows it
 * (the sink's lines of the same turn: app logs, errors), in order: the i-th following line was
 * written when the frames were at[i] bytes long. A reader that shows events in order (`tail`)
 * shows the frames before at[i], then that line, then the frames on to at[i+1]... A line without
 * `at` came after all of its frames' events. Positions are at frame boundaries.
 */

export const FrameKind = { time: 1, recordIn: 2, recordOut: 3, cont: 4, params: 5, close: 6, paramsDelta: 7 } as const;

/** Flags of a RECORD frame (PIECE, PREVIEW, HEAD, MASKED), of CONT (LAST) and of PARAMS (MASKED). */
export const FrameFlag = {
  /** piece: the record's content arrives in pieces; CONT frames follow, the last with LAST. */
  piece: 1,
  /** preview: the bytes are the content's start, to be shown (bodies with secrets shown; STDERR). */
  preview: 2,
  /** head: the bytes are the start of a response's CGI head (status and headers), not to be shown as a body. */
  head: 4,
  /** masked: the values of secret params or headers were overwritten with '*' (same length). */
  masked: 8,
  /** last: CONT carries the record's last piece. */
  last: 1,
} as const;

export const TIME_FRAME_BYTES = 9;
export const RECORD_FRAME_BYTES = 22;
export const CONT_FRAME_BYTES = 10;
export const PARAMS_FRAME_BYTES = 16;
export const CLOSE_FRAME_BYTES = 5;
export const PARAMS_DELTA_FRAME_BYTES = 24;

/** WIRE_VERSION: the `v` of a wire line; a reader shows a line of another version as it came. */
export const WIRE_VERSION = 1;

/** MASK_BYTE: what a secret value's bytes are overwritten with ('*'). */
export const MASK_BYTE = 0x2a;

/** WireHead: a wire line's fields before its frames. */
export interface WireHead {
  pid: number;
  mode: string;
  preview: number;
  strip: boolean;
  script: string | undefined;
  /** at: where the lines after this one belong among its frames (see above), or undefined. */
  at?: number[] | undefined;
}

/** wireHeadOf: the fields of a wire line's head (parsed JSON), or undefined when they are not a wire line's. */
export function wireHeadOf(ev: Record<string, unknown>): WireHead | undefined {
  const { pid, mode, v, preview: pv, target, at } = ev;
  if (v !== WIRE_VERSION || !Number.isInteger(pid) || typeof mode !== 'string' || !Number.isInteger(pv)) return undefined;
  const t = typeof target === 'object' && target !== null ? target as Record<string, unknown> : {};
  return {
    pid: pid as number, mode, preview: pv as number, strip: t['strip'] !== false, script: typeof t['script'] === 'string' ? t['script'] : undefined,
    at: marksOf(at),
  };
}

/** MAX_MARKS: a head's `at` longer than this is not used (a turn's lines are a few; a producer is not trusted). */
const MAX_MARKS = 4096;

/** marksOf: a head's `at` when it is a list of non-decreasing byte positions, else undefined (the line is read without it). */
function marksOf(at: unknown): number[] | undefined {
  if (!Array.isArray(at) || at.length === 0 || at.length > MAX_MARKS) return undefined;
  let last = 0;
  for (const m of at) {
    if (!Number.isInteger(m) || (m as number) < last) return undefined;
    last = m as number;
  }
  return at as number[];
}

/** rebuildParams: a PARAMS stream from a DELTA frame's parts: the base's first p bytes, `mid`, the base's last s bytes. */
export function rebuildParams(base: Buffer, p: number, mid: Buffer, s: number): Buffer {
  const out = Buffer.allocUnsafe(p + mid.length + s);
  base.copy(out, 0, 0, p);
  mid.copy(out, p);
  base.copy(out, p + mid.length, base.length - s);
  return out;
}
