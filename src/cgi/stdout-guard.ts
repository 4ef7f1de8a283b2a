import { originalStderrWrite, originalStdoutWrite, realStdout } from '../trace/stdio';

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

/**
 * guardStdout: idempotent; returns the private writer for the response. process.stdout is not
 * built here (a CGI hit writes fd 1 directly, trace/stdio): its getter is wrapped so that the
 * stream, when the app or a logger first asks for it, already writes to stderr.
 */
export function guardStdout(): StdoutWriter {
  if (guarded) return guarded;
  guarded = {
    write: (chunk, cb) => originalStdoutWrite(chunk, cb),
    once: (event, fn) => { realStdout().once(event, fn); },
  };
  const toStderr = (chunk: string | Uint8Array): boolean => originalStderrWrite(chunk);
  let patched: NodeJS.WriteStream | null = null;
  const stdout = (): NodeJS.WriteStream => {
    if (patched === null) {
      patched = realStdout();
      // An own property on this one stream object: console.* calls it for every line.
      (patched as { write: unknown }).write = toStderr;
    }
    return patched;
  };
  Object.defineProperty(process, 'stdout', { configurable: true, enumerable: true, get: stdout });
  return guarded;
}
