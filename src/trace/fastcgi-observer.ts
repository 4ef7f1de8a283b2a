import type { Connection, ConnectionObserver } from '../fastcgi/connection';
import { isTracing, publish, publishedCount, publishNote } from './channel';
import { Level } from './events';
import type { RecordsNote } from './notes';
import { addToRecords, recordEvent, recordsNote } from './record-event';
import { traceOptions } from './redact';

function codeOf(err: Error): string | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function peerOf(conn: Connection): string {
  const s = conn.socket;
  return s.remoteAddress ? `${s.remoteAddress}:${s.remotePort}` : 'unix';
}

/**
 * createTraceObserver: FastCGI connection events -> trace events (records decoded, connections,
 * protocol errors). `enabled` is the channel's hasSubscribers: nothing is built while nobody listens.
 */
export function createTraceObserver(mode = 'fcgi'): ConnectionObserver {
  /** The last records note published, and the channel's count right after it (notes.ts RecordsNote). */
  let last: RecordsNote | undefined;
  let lastCount = -1;
  return {
    enabled: isTracing,
    // A record that arrives in pieces: the connection keeps this much of its start for the preview.
    headBytes: traceOptions.previewBytes,
    record(conn, dir, record, rid) {
      // The record types of every request go out as notes (notes.ts says why); others as events.
      // A record that follows its request's last one, with nothing published in between, joins
      // its note while no subscriber has written it: a hello request's seven records make three
      // notes instead of seven (one object, one publish and one pass through the sink each).
      // What it buys: the serving process's CPU per traced hello request (bench/README "Fifth round").
      if (last !== undefined && last.open && lastCount === publishedCount() && last.requestId === record.requestId && last.conn === conn.id
        && last.rid === rid && addToRecords(last, record, dir)) return;
      const note = recordsNote(record, dir, conn.id, mode, rid);
      if (note === undefined) {
        publish(recordEvent(record, dir, conn.id, mode, rid));
        return;
      }
      publishNote(note);
      last = note;
      lastCount = publishedCount();
    },
    error(conn, err, phase, requestId) {
      const code = codeOf(err);
      publish({
        ev: 'error', level: phase === 'socket' ? Level.debug : Level.warn, mode, phase, msg: err.message,
        stack: err.stack, ...(code ? { code } : {}), ...(conn ? { conn: conn.id } : {}),
        ...(requestId !== undefined ? { requestId } : {}),
      });
    },
    open(conn) {
      publish({ ev: 'conn.open', mode, conn: conn.id, peer: peerOf(conn), msg: `connection ${conn.id} opened` });
    },
    close(conn) {
      publish({ ev: 'conn.close', mode, conn: conn.id, msg: `connection ${conn.id} closed` });
    },
  };
}
