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
 * publishers load only this file's types, which keeps a CGI hit's modules as they were.
 */

import type { ParamsBase } from './json-line';

/** RecordNote: one FastCGI record of the server (the kinds recordNote in record-event.ts compacts). */
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

export type TraceNote = RecordNote | StartNote | EndNote;

/** isNote: a published note rather than an event object or a raw line. */
export function isNote(message: object): message is TraceNote {
  return (message as { note?: unknown }).note !== undefined;
}
