import diagnostics_channel from 'node:diagnostics_channel';
import { type EventInput, Level, type TraceEvent } from './events';

/**
 * The trace channel. Publishers check `isTracing()` (channel.hasSubscribers) before building an
 * event, so tracing compiled in but unobserved costs one property read (pino's lib/tools.js idea).
 */
export const traceChannel = diagnostics_channel.channel('dualcgi:trace');

/** isTracing: someone listens; build events only then. */
export function isTracing(): boolean {
  return traceChannel.hasSubscribers;
}

/** publish: fill in level/time/pid and send. Call only behind isTracing(). */
export function publish(input: EventInput): void {
  const event = input as TraceEvent;
  if (event.level === undefined) event.level = Level.info;
  event.time = Date.now();
  event.pid = process.pid;
  traceChannel.publish(event);
}

/**
 * RawLine: an already-serialized NDJSON line (pino's own output from req.log, and the hot events
 * written by hand, json-line.ts), passed through. `nl`: it is known to end with a newline, so
 * sinks do not look (endsWith flattens a line built by concatenation, a copy per line).
 */
export interface RawLine {
  raw: string;
  nl?: true;
}

/** isRawLine: a passed-through line rather than an event object. */
export function isRawLine(message: TraceEvent | RawLine): message is RawLine {
  return !('ev' in message) && typeof (message as RawLine).raw === 'string';
}

/** publishRaw: a line that is already NDJSON (from the app's pino logger). */
export function publishRaw(line: string): void {
  traceChannel.publish({ raw: line } satisfies RawLine);
}

/** publishLine: a hand-written event line that ends with its newline (json-line.ts). */
export function publishLine(line: string): void {
  traceChannel.publish({ raw: line, nl: true } satisfies RawLine);
}

/** subscribe: receive every event and raw line; returns the unsubscribe function. */
export function subscribe(fn: (message: TraceEvent | RawLine) => void): () => void {
  const handler = (message: unknown): void => fn(message as TraceEvent | RawLine);
  traceChannel.subscribe(handler);
  return () => traceChannel.unsubscribe(handler);
}

let nextRid = 0;

/** newRid: a request key unique across processes: pid and a per-process counter. */
export function newRid(): string {
  return `${process.pid}-${++nextRid}`;
}
