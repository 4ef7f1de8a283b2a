import diagnostics_channel from 'node:diagnostics_channel';
import { type EventInput, Level, type TraceEvent } from './events';
import type { TraceNote } from './notes';

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

/** RawLine: an already-serialized NDJSON line (pino's own output from req.log), passed through. */
export interface RawLine {
  raw: string;
}

/** isRawLine: a passed-through line rather than an event object. */
export function isRawLine(message: TraceMessage): message is RawLine {
  return typeof (message as Partial<RawLine>).raw === 'string' && !('ev' in message);
}

/** publishRaw: a line that is already NDJSON (from the app's pino logger). */
export function publishRaw(line: string): void {
  traceChannel.publish({ raw: line } satisfies RawLine);
}

/** publishNote: a hot event as its values (notes.ts); each sink writes it its own way. */
export function publishNote(note: TraceNote): void {
  traceChannel.publish(note);
}

/** TraceMessage: what subscribers receive: an event object, a raw line, or a note (notes.ts). */
export type TraceMessage = TraceEvent | RawLine | TraceNote;

/** subscribe: receive every event, raw line and note; returns the unsubscribe function. */
export function subscribe(fn: (message: TraceMessage) => void): () => void {
  const handler = (message: unknown): void => fn(message as TraceMessage);
  traceChannel.subscribe(handler);
  return () => traceChannel.unsubscribe(handler);
}

let nextRid = 0;

/** newRidNumber: the per-process counter of newRid (the wire mirror sends rids as these numbers). */
export function newRidNumber(): number {
  return ++nextRid;
}

/** newRid: a request key unique across processes: pid and a per-process counter. */
export function newRid(): string {
  return `${process.pid}-${++nextRid}`;
}
