import { originalStderrWrite, originalStdoutWrite } from '../trace/stdio';

/**
 * In CGI mode stdout IS the response (DESIGN "Known traps"): nothing but the response may reach it.
 * guardStdout keeps a private writer for the response and points `process.stdout.write` (what
 * console.log and most loggers use) at stderr, which web servers put in their error log.
 */
export interface StdoutWriter {
  write(chunk: Buffer, cb: (err?: Error | null) => void): boolean;
  once(event: 'drain', fn: () => void): void;
}

let guarded: StdoutWriter | null = null;

/** guardStdout: idempotent; returns the private writer for the response. */
export function guardStdout(): StdoutWriter {
  if (guarded) return guarded;
  const stdout = process.stdout;
  guarded = {
    write: (chunk, cb) => originalStdoutWrite(chunk, cb),
    once: (event, fn) => { stdout.once(event, fn); },
  };
  const toStderr = (chunk: string | Uint8Array): boolean => originalStderrWrite(chunk);
  // An own property on this one stream object: console.* calls it for every line.
  (stdout as { write: unknown }).write = toStderr;
  return guarded;
}
