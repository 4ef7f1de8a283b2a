import { writeSync } from 'node:fs';

/**
 * The process's stdio writers as they were before dualcgi redirected or captured anything: the
 * stderr trace sink and dualcgi's own diagnostics use these, so they are never taken for app output
 * (and never loop through the capture). In CGI mode stdout is the response and this is its writer.
 *
 * The streams are taken when first needed, not when this module loads. A CGI hit writes fds 1 and
 * 2 directly (useDirectWrites): building process.stdout and process.stderr makes a net.Socket per
 * pipe (Apache's mod_cgi gives pipes), about 1 ms of a hit that needs none of it (bench/ cgi suite,
 * "dispatch.cgi (plain app)"; measured 2026-11-25: the hit's in-process time 14.4 -> 12.8 ms). Node
 * writes pipes, files and terminals synchronously on Linux anyway, so the bytes and their order are
 * the same. A descriptor that is non-blocking (EAGAIN) falls back to the stream for good.
 */

type Write = (chunk: string | Uint8Array) => boolean;
type WriteCb = (chunk: Uint8Array, cb: (err?: Error | null) => void) => boolean;

/** The getter Node puts on process.stdout, saved before the CGI guard replaces it. */
const stdoutGetter = Object.getOwnPropertyDescriptor(process, 'stdout')?.get;

let stdoutStream: NodeJS.WriteStream | null = null;
let stdoutStreamWrite: WriteCb | null = null;
let stderrStreamWrite: Write | null = null;
/** direct: fd 1 / fd 2 written with writeSync (a CGI hit) until one says EAGAIN. */
let directOut = false;
let directErr = false;

/** realStdout: process.stdout as Node builds it, its own write remembered before anyone patches it. */
export function realStdout(): NodeJS.WriteStream {
  if (stdoutStream === null) {
    const s = (stdoutGetter ? stdoutGetter.call(process) : process.stdout) as NodeJS.WriteStream;
    stdoutStream = s;
    stdoutStreamWrite = s.write.bind(s) as WriteCb;
  }
  return stdoutStream;
}

function stderrWriter(): Write {
  if (stderrStreamWrite === null) {
    const s = process.stderr;
    stderrStreamWrite = s.write.bind(s) as Write;
  }
  return stderrStreamWrite;
}

/**
 * pinStdio: take both streams' writers now (before the console capture patches them). Modes other
 * than a CGI hit call it before anything patches process.stdout or process.stderr.
 */
export function pinStdio(): void {
  realStdout();
  stderrWriter();
}

/** stdioStreamsBuilt: which of the two streams this module built (tests, `dualcgi doctor`-style probes). */
export function stdioStreamsBuilt(): { stdout: boolean; stderr: boolean } {
  return { stdout: stdoutStream !== null, stderr: stderrStreamWrite !== null };
}

/** useDirectWrites: a CGI hit: write fds 1 and 2 with writeSync; the streams are built only if asked for. */
export function useDirectWrites(): void {
  directOut = stdoutStream === null;
  directErr = stderrStreamWrite === null;
}

/**
 * writeFd: the whole chunk with writeSync. Returns the part that is left when the descriptor says
 * EAGAIN (non-blocking: the caller hands it to the stream), or throws the write's error.
 */
function writeFd(fd: number, chunk: string | Uint8Array): Uint8Array | null {
  let buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
  while (buf.length > 0) {
    let n: number;
    try {
      n = writeSync(fd, buf);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return buf;
      throw err;
    }
    buf = buf.subarray(n);
  }
  return null;
}

/** originalStderrWrite: write to fd 2 bypassing any capture. */
export function originalStderrWrite(chunk: string | Uint8Array): boolean {
  if (directErr) {
    let rest: Uint8Array | null;
    try {
      rest = writeFd(2, chunk);
    } catch {
      return true; // stderr is gone (EPIPE, EBADF): as the stream would, drop the diagnostics
    }
    if (rest === null) return true;
    directErr = false;
    chunk = rest;
  }
  return stderrWriter()(chunk);
}

/** originalStdoutWrite: fd 1 as it was at startup: in CGI mode, the response's only writer. */
export function originalStdoutWrite(chunk: Uint8Array, cb: (err?: Error | null) => void): boolean {
  if (directOut) {
    let rest: Uint8Array | null;
    try {
      rest = writeFd(1, chunk);
    } catch (err) {
      process.nextTick(cb, err as Error);
      return true;
    }
    if (rest === null) {
      process.nextTick(cb);
      return true;
    }
    directOut = false;
    chunk = rest;
  }
  if (!stdoutErrorsHeard) {
    // A failed write reaches its callback (the CGI exchange aborts on it); the stream's 'error'
    // event, with no listener, was an uncaught exception: a web server that closed the pipe early
    // (the client went away) left "Unhandled 'error' event" in its error log whenever the hit
    // lived on after it (tracing, a body still to read).
    stdoutErrorsHeard = true;
    realStdout().on('error', ignoreError);
  }
  return stdoutStreamWrite!(chunk, cb);
}

let stdoutErrorsHeard = false;
function ignoreError(): void {}
