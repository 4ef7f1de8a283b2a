/**
 * Trace events: pino-compatible objects (level, time, pid, msg) plus `ev` and its fields, written
 * one per line as NDJSON, so pino-pretty renders any line and jq reads it (DESIGN "Trace events").
 */

/** pino's numeric levels. */
export const Level = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;

export type EventKind =
  | 'process.start' | 'process.exit'
  | 'conn.open' | 'conn.close'
  | 'record'
  | 'request.start' | 'request.end'
  | 'app.log'
  | 'error';

/** TraceBase: the fields every event has. */
export interface TraceBase {
  level: number;
  time: number;
  pid: number;
  msg: string;
  ev: EventKind;
  /** mode: cgi, fcgi, or tap. */
  mode?: string;
}

export interface ProcessStartEvent extends TraceBase {
  ev: 'process.start';
  reason: string;
  app: string;
  version?: string;
  user: string;
  node: string;
  script?: string;
}

export interface ProcessExitEvent extends TraceBase {
  ev: 'process.exit';
  reason: string;
  code: number;
}

export interface ConnEvent extends TraceBase {
  ev: 'conn.open' | 'conn.close';
  conn: number;
  peer?: string;
  error?: string;
}

/** RecordEvent: one FastCGI record, decoded. `dir` is as seen by the app: in = from the web server. */
export interface RecordEvent extends TraceBase {
  ev: 'record';
  conn: number;
  dir: 'in' | 'out';
  type: string;
  typeCode: number;
  requestId: number;
  contentLength: number;
  paddingLength: number;
  rid?: string;
  role?: string;
  flags?: number;
  keepConn?: boolean;
  /** params: the pairs of a PARAMS record (tap); the FastCGI server sends `pairs`, a count, and the pairs once in request.start. */
  params?: Array<[string, string]>;
  pairs?: number;
  appStatus?: number;
  protocolStatus?: string;
  values?: Array<[string, string]>;
  unknownType?: number;
  /** preview: the first bytes of STDIN/STDOUT/STDERR/DATA content, escaped; absent when redacted. */
  preview?: string;
  redacted?: boolean;
}

export interface RequestStartEvent extends TraceBase {
  ev: 'request.start';
  rid: string;
  requestId: number;
  conn?: number;
  method: string;
  uri: string;
  url: string;
  mountPoint: string;
  role: string;
  params: Array<[string, string]>;
}

export interface RequestEndEvent extends TraceBase {
  ev: 'request.end';
  rid: string;
  requestId: number;
  method: string;
  uri: string;
  status: number;
  headers: Array<[string, string]>;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  appStatus: number;
  aborted: boolean;
}

export interface AppLogEvent extends TraceBase {
  ev: 'app.log';
  rid?: string;
  /** stream: 'log' for req.log, 'stdout'/'stderr' for captured console output. */
  stream: string;
  [field: string]: unknown;
}

export interface ErrorEvent extends TraceBase {
  ev: 'error';
  phase: string;
  code?: string;
  stack?: string;
  rid?: string;
  requestId?: number;
  conn?: number;
}

export type TraceEvent =
  | ProcessStartEvent | ProcessExitEvent | ConnEvent | RecordEvent
  | RequestStartEvent | RequestEndEvent | AppLogEvent | ErrorEvent;

/** Distributes Omit over the union, so each kind keeps its own fields. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** EventInput: what a publisher gives; level, time and pid are filled in. */
export type EventInput = DistributiveOmit<TraceEvent, 'level' | 'time' | 'pid'> & { level?: number };
