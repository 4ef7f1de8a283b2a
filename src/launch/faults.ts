import { isTracing, publish } from '../trace/channel';
import { Level } from '../trace/events';
import { originalStderrWrite } from '../trace/stdio';

let installed = false;

function report(err: unknown, phase: string, next: string): void {
  const e = err instanceof Error ? err : new Error(String(err));
  originalStderrWrite(`dualcgi[${process.pid}]: ${phase}: ${e.stack ?? e.message}\ndualcgi[${process.pid}]: ${next}\n`);
  if (isTracing()) publish({ ev: 'error', level: Level.fatal, mode: 'fcgi', phase, msg: e.message, stack: e.stack });
}

/**
 * installFaultPolicy: what a FastCGI process does with an app fault outside any request handler.
 * - An unhandled promise rejection is reported and the process goes on: it belongs to one piece of
 *   work, and dropping every in-flight request for it would hurt more clients than it helps.
 * - An uncaught exception (a throw from a timer or an event handler) leaves the process in an
 *   unknown state: it is reported, the process stops accepting, lets the requests in flight finish
 *   (the same graceful path as SIGTERM: drainMs) and exits; the web server (mod_fcgid, lighttpd) or
 *   the owner of a worker starts a fresh one. A second one during the drain exits at once.
 */
export function installFaultPolicy(): void {
  if (installed) return;
  installed = true;
  let draining = false;
  process.on('unhandledRejection', (reason) => report(reason, 'unhandledRejection', 'going on'));
  process.on('uncaughtException', (err) => {
    if (draining) {
      report(err, 'uncaughtException', 'a second one while draining: exiting now');
      process.exit(1);
    }
    draining = true;
    report(err, 'uncaughtException', 'finishing the requests in flight, then exiting (the web server starts a new process)');
    process.kill(process.pid, 'SIGTERM');
  });
}
