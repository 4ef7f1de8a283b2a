import type { Connection, ConnectionObserver } from '../fastcgi/connection';
import { isTracing, publish, publishNote } from './channel';
import { Level } from './events';
import { recordEvent, recordNote } from './record-event';
import { traceOptions } from './redact';
import { watchMirror } from './wire-mirror';

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
  // While a trace socket listens, records go to it as bytes (wire-mirror.ts), not as events: `wire`
  // is that mirror, kept up to date by watchMirror.
  return watchMirror<ConnectionObserver>({
    enabled: isTracing,
    wire: null,
    // A record that arrives in pieces: the connection keeps this much of its start for the preview.
    headBytes: traceOptions.previewBytes,
    record(conn, dir, record, rid) {
      // The record types of every request go out as notes (notes.ts says why); others as events.
      const note = recordNote(record, dir, conn.id, mode, rid);
      if (note !== undefined) publishNote(note);
      else publish(recordEvent(record, dir, conn.id, mode, rid));
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
  });
}
