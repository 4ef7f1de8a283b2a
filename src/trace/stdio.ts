/**
 * The process's stdio writers as they were before dualcgi redirected or captured anything: the
 * stderr trace sink and dualcgi's own diagnostics use these, so they are never taken for app output
 * (and never loop through the capture).
 */
const stderr = process.stderr;
const stderrWrite = stderr.write.bind(stderr) as (chunk: string | Uint8Array) => boolean;

/** originalStderrWrite: write to fd 2 bypassing any capture. */
export function originalStderrWrite(chunk: string | Uint8Array): boolean {
  return stderrWrite(chunk);
}

const stdout = process.stdout;
const stdoutWrite = stdout.write.bind(stdout) as (chunk: Uint8Array, cb: (err?: Error | null) => void) => boolean;

/** originalStdoutWrite: fd 1 as it was at startup: in CGI mode, the response's only writer. */
export function originalStdoutWrite(chunk: Uint8Array, cb: (err?: Error | null) => void): boolean {
  return stdoutWrite(chunk, cb);
}
