import { str } from '../store/fields';

/** PrettyFn: one pino object to pino-pretty's text (no trailing newline; errors may span lines). */
export type PrettyFn = (event: Record<string, unknown>) => string;

/** PrettyOptions: what differs between the dashboard (no color, blessed draws) and tail. */
export interface PrettyOptions {
  colorize: boolean;
  /** ignore: fields not printed (pino-pretty's `ignore`), beyond the trace bookkeeping ones. */
  ignore?: string[];
  /** clock: `HH:MM:ss.l` local time (default); a pino-pretty translateTime value. */
  translateTime?: string;
}

/** The trace schema's own fields: shown in other ways, so not repeated as extra JSON. */
const bookkeeping = ['hostname', 'ev', 'stream', 'mode'];

type PrettyModule = { prettyFactory(options: Record<string, unknown>): (input: unknown) => string };

/**
 * createPretty: pino-pretty's prettyFactory, loaded only here (the `tail` and `dashboard` commands),
 * never by a CGI hit. Never throws: an event pino-pretty cannot format comes out as JSON.
 */
export function createPretty(options: PrettyOptions): PrettyFn {
  const { prettyFactory } = require('pino-pretty') as PrettyModule;
  const format = prettyFactory({
    colorize: options.colorize,
    translateTime: options.translateTime ?? 'SYS:HH:MM:ss.l',
    ignore: [...bookkeeping, ...(options.ignore ?? [])].join(','),
    singleLine: true,
  });
  return (event) => {
    try {
      return format(event).replace(/\n+$/, '');
    } catch {
      return safeJson(event);
    }
  };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/**
 * errorForPretty: an `error` event shaped so pino-pretty prints its stack under the message (it
 * does that for objects with `type: 'Error'` and a `stack`); phase and rid go into the message,
 * which is all pino-pretty prints of such an object besides the stack.
 */
export function errorForPretty(ev: Record<string, unknown>, withStack: boolean): Record<string, unknown> {
  const where = [`phase ${str(ev['phase'], '?', 60)}`];
  if (typeof ev['code'] === 'string') where.push(str(ev['code'], '', 60));
  if (typeof ev['rid'] === 'string') where.push(`rid ${str(ev['rid'], '', 100)}`);
  const out: Record<string, unknown> = {
    level: typeof ev['level'] === 'number' ? ev['level'] : 50,
    time: ev['time'],
    pid: ev['pid'],
    msg: `${str(ev['msg'], 'error', 1000)} (${where.join(', ')})`,
  };
  if (withStack && typeof ev['stack'] === 'string') {
    out['type'] = 'Error';
    out['stack'] = ev['stack'];
  }
  return out;
}
