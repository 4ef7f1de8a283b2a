/**
 * Notes: the hot trace events of a request (its FastCGI records, request.start, request.end)
 * published as their values rather than as finished lines. Each sink decides the text: the file
 * and stderr sinks write one line per event, as before (`noteLine`); the socket sink gathers a
 * request's notes of one event loop turn into one `ev: "request"` line (request-group.ts), which
 * the reading side expands into the same events again (group-expand.ts).
 *
 * Why: a traced hello request made nine lines (~2.9 kB), and building each one (its head, msg,
 * rid, the numbers as text) and encoding it was most of what an attached listener cost the
 * serving process; a `record` line alone was about 0.6 µs of JS per record (profile of the
 * serving process, bench/ trace suite setup). Values cost an object each; the grouped line shares
 * its head and rid and writes a record as a short array.
 *
 * Plain object literals (one creation site per kind, so one shape each), no classes: the
 * publishers load only this file (its types and two small functions), which keeps a CGI hit's
 * modules as they were.
 */

import type { ParamsBase } from './json-line';

/**
 * RecordNote: one FastCGI record of the server (the kinds recordNote in record-event.ts compacts),
 * as the readers rebuild it from a grouped line and as a records note holds it (recordAt).
 */
export interface RecordNote {
  note: 'record';
  time: number;
  pid: number;
  mode: string;
  conn: number;
  dir: 'in' | 'out';
  type: number;
  requestId: number;
  contentLength: number;
  paddingLength: number;
  rid: string | undefined;
  /** num: BEGIN_REQUEST flags, END_REQUEST appStatus, PARAMS pair count; -1 when the type has none. */
  num: number;
  /** text: BEGIN_REQUEST role name, END_REQUEST protocol status name; '' when the type has none. */
  text: string;
}

/**
 * RecordsNote: consecutive records of one request, as the observer publishes them: a hello
 * request's seven records are three notes (its records in, its first response record and STDIN,
 * the rest) instead of seven (fastcgi-observer.ts says what it buys). Record i's numbers are at
 * i * RECORD_FIELDS in `nums` (time, dir: 0 in / 1 out, type, contentLength, paddingLength, num),
 * its text at i in `texts` (RecordNote says what num and text are).
 *
 * A published note grows while `open`: the observer adds the request's next record to it only if
 * nothing else was published on the channel since (so events keep their order) and no subscriber
 * has written it yet. A subscriber that writes a note at once (the file and stderr sinks) closes
 * it (`open = false`); the socket sink writes it at the end of the turn and closes it then.
 */
export interface RecordsNote {
  note: 'records';
  /** time: the first record's. */
  time: number;
  pid: number;
  mode: string;
  conn: number;
  requestId: number;
  rid: string | undefined;
  count: number;
  nums: number[];
  texts: string[];
  open: boolean;
}

/** RECORD_FIELDS: the numbers of one record in RecordsNote#nums. */
export const RECORD_FIELDS = 6;

/** recordAt: record i of a records note, as a note of its own (the per-event lines, tests). */
export function recordAt(n: RecordsNote, i: number): RecordNote {
  const at = i * RECORD_FIELDS;
  const nums = n.nums;
  return {
    note: 'record', time: nums[at]!, pid: n.pid, mode: n.mode, conn: n.conn, dir: nums[at + 1] === 0 ? 'in' : 'out', type: nums[at + 2]!,
    requestId: n.requestId, contentLength: nums[at + 3]!, paddingLength: nums[at + 4]!, rid: n.rid, num: nums[at + 5]!, text: n.texts[i]!,
  };
}

/**
 * StartNote: request.start; params as their JSON, already redacted, and as a change from a base
 * (json-line.ts ParamsJson): the socket sink writes the change once its listener has the base.
 */
export interface StartNote {
  note: 'start';
  time: number;
  pid: number;
  mode: string;
  rid: string;
  requestId: number;
  method: string;
  uri: string;
  url: string;
  mountPoint: string;
  role: string;
  paramsJson: string;
  /** paramsBase: what paramsDelta changes; undefined when the note has only paramsJson. */
  paramsBase: ParamsBase | undefined;
  /** paramsDelta: `[[index,"value"],...]`, the values by position in paramsBase that differ from its. */
  paramsDelta: string;
}

/** EndNote: request.end; headers as their JSON, already redacted. */
export interface EndNote {
  note: 'end';
  time: number;
  pid: number;
  mode: string;
  rid: string;
  requestId: number;
  level: number;
  msg: string;
  method: string;
  uri: string;
  status: number;
  headersJson: string;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  aborted: boolean;
}

export type TraceNote = RecordsNote | StartNote | EndNote;

/** isNote: a published note rather than an event object or a raw line. */
export function isNote(message: object): message is TraceNote {
  return (message as { note?: unknown }).note !== undefined;
}
