import { isTracing, publish } from './channel';
import { Level } from './events';
import { consoleRid, oneRequestRid } from './request-context';
import { pinStdio } from './stdio';

let installed = false;

/**
 * captureConsole: what the app writes to stdout/stderr (console.*, process.stdout.write) also becomes
 * app.log events, attributed to the request whose code wrote it. The writes themselves go on as
 * before (in CGI mode stdout is already pointed at stderr by the stdout guard).
 */
export function captureConsole(mode: string, fixedRid?: string): void {
  if (installed) return;
  installed = true;
  pinStdio(); // the original writers are taken before they are patched here
  for (const name of ['stdout', 'stderr'] as const) {
    const stream = process[name];
    const write = stream.write;
    (stream as { write: unknown }).write = function captured(this: unknown, chunk: unknown, ...rest: unknown[]): boolean {
      if (isTracing() && (typeof chunk === 'string' || chunk instanceof Uint8Array)) {
        const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
        const rid = consoleRid() ?? fixedRid ?? (mode === 'cgi' ? oneRequestRid() : undefined);
        publish({
          ev: 'app.log', mode, stream: name, level: name === 'stderr' ? Level.warn : Level.info,
          msg: text.replace(/\n$/, ''), ...(rid !== undefined ? { rid } : {}),
        });
      }
      return (write as (...a: unknown[]) => boolean).call(stream, chunk, ...rest);
    };
  }
}
