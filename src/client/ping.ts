import { type Address, formatAddress } from '../net/address';
import { FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS } from '../protocol';
import { ClientError, errnoCode } from './errors';
import { FastCGIClientConnection } from './fastcgi-client';

/** PingResult: a FastCGI responder's answer to FCGI_GET_VALUES. */
export interface PingResult {
  address: string;
  /** values: the variables it answered, in its order (spec 4.1: unknown ones are left out). */
  values: Array<[string, string]>;
  /** connectMs / rttMs: time to connect, and from GET_VALUES sent to its result. */
  connectMs: number;
  rttMs: number;
}

/** GET_VALUES_NAMES: the three variables the spec defines (4.1). */
export const GET_VALUES_NAMES = [FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS] as const;

/**
 * ping: connect, send FCGI_GET_VALUES for the spec's three variables, wait for the result, close.
 * Rejects with ClientError (CLIENT_ERR_CONNECT, _CLOSED, _TIMEOUT, _PROTOCOL) when there is no answer;
 * the whole exchange is bounded by `timeoutMs`.
 */
export async function ping(address: Address, timeoutMs = 5000): Promise<PingResult> {
  const shown = formatAddress(address);
  const started = performance.now();
  const conn = await connectWithin(address, timeoutMs);
  const connected = performance.now();
  try {
    const values = await conn.getValues(GET_VALUES_NAMES, Math.max(1, Math.round(timeoutMs - (connected - started))));
    const rttMs = performance.now() - connected;
    return { address: shown, values: [...values], connectMs: round(connected - started), rttMs: round(rttMs) };
  } catch (err) {
    // The wait above is what was left of the timeout; the line says the timeout the user gave.
    if (err instanceof ClientError && err.code === 'CLIENT_ERR_TIMEOUT') {
      throw new ClientError('CLIENT_ERR_TIMEOUT', `no GET_VALUES_RESULT within ${timeoutMs} ms`); // pingFailure puts the address first
    }
    throw err;
  } finally {
    conn.destroy();
  }
}

/** connectWithin: connect, or CLIENT_ERR_TIMEOUT; a connection that succeeds too late is closed. */
function connectWithin(address: Address, timeoutMs: number): Promise<FastCGIClientConnection> {
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new ClientError('CLIENT_ERR_TIMEOUT', `no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    FastCGIClientConnection.connect(address).then((conn) => {
      clearTimeout(timer);
      if (late) conn.destroy();
      else resolve(conn);
    }, (err: unknown) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** pingFailure: a failed ping as one line, with the likely fix. */
export function pingFailure(err: unknown, address: Address): string {
  const shown = formatAddress(address);
  if (!(err instanceof ClientError)) return `${shown}: ${(err as Error).message}`;
  const code = errnoCode(err.cause);
  if (err.code === 'CLIENT_ERR_CONNECT') {
    if (code === 'ECONNREFUSED') return `${shown}: connection refused (is the FastCGI server running?)`;
    if (code === 'ENOENT') return `${shown}: no socket there (is the FastCGI server running, and is the path right?)`;
    if (code === 'EACCES') return `${shown}: permission denied (the socket's mode or a folder above it keeps you out)`;
  }
  if (err.code === 'CLIENT_ERR_CLOSED') return `${shown}: closed the connection without answering GET_VALUES`;
  return `${shown}: ${err.message}`;
}
