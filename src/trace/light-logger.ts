import type { Logger } from 'pino';

/**
 * A request logger for CGI hits that writes pino's own NDJSON lines for the common calls without
 * loading pino, and hands everything else to a real pino logger made on first need.
 *
 * Why: a CGI hit is one request per process, and loading pino (it brings thread-stream,
 * worker_threads, sonic-boom) was about a third of the hello example's CGI hit, about 19 ms
 * (bench/ cgi suite, "dispatch.cgi (hello example)"). The lines are byte for byte pino's
 * (test/trace/light-logger.test.ts compares them), so the dashboard, tail and any log tool read
 * them the same.
 *
 * Fast path: `log.info()`, `log.info('text')`, `log.info({ k: v }, 'text')` with primitive
 * values and no printf placeholders. Anything else (Errors, nested objects, '%s' arguments,
 * child loggers, serializers, any other property of a pino logger) goes to real pino.
 */

export const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
type LevelName = keyof typeof LEVELS;

/** RESERVED: keys pino itself writes or treats specially: an object with one goes to pino. */
const RESERVED = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'err', 'error']);

/** levelValue: a pino level name to its number ('silent' and unknown names log nothing). */
function levelValue(name: string): number {
  return (LEVELS as Record<string, number>)[name] ?? Infinity;
}

/** fastFields: `,"k":v` for a flat object of primitives, or undefined if pino must handle it. */
function fastFields(obj: object): string | undefined {
  if (Object.getPrototypeOf(obj) !== Object.prototype) return undefined;
  let out = '';
  for (const key of Object.keys(obj)) {
    if (RESERVED.has(key)) return undefined;
    const value = (obj as Record<string, unknown>)[key];
    if (value === undefined) continue; // as JSON.stringify (and pino) drop it
    if (typeof value === 'string' || typeof value === 'boolean' || value === null || (typeof value === 'number' && Number.isFinite(value))) {
      out += `,${JSON.stringify(key)}:${JSON.stringify(value)}`;
    } else {
      return undefined;
    }
  }
  return out;
}

/**
 * createLightLogger: a logger bound to `bindings` that writes through `write` while `level`
 * allows; `heavy()` makes the equivalent real pino logger (same bindings, same destination).
 */
export function createLightLogger(bindings: Record<string, string | number>, options: {
  level: string;
  write: (line: string) => void;
  heavy: () => Logger;
}): Logger {
  let heavyLogger: Logger | undefined;
  const heavy = (): Logger => {
    if (heavyLogger === undefined) {
      heavyLogger = options.heavy();
      if (levelName !== options.level) heavyLogger.level = levelName; // a level set on this logger carries over
    }
    return heavyLogger;
  };
  let threshold = levelValue(options.level);
  let levelName = options.level;
  // pino's prefix: level, time, then base ({ pid }), then the child's bindings, in that order.
  const bound = Object.entries(bindings).map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`).join('');

  const method = (name: LevelName) => function log(this: unknown, ...args: unknown[]): void {
    if (heavyLogger) {
      (heavyLogger[name] as (...a: unknown[]) => void)(...args);
      return;
    }
    const value = LEVELS[name];
    if (value < threshold) return;
    let fields = '';
    let msg: unknown;
    if (args.length === 0) msg = undefined;
    else if (typeof args[0] === 'string' && args.length === 1) msg = args[0];
    else if (typeof args[0] === 'object' && args[0] !== null && args.length <= 2
      && (args.length === 1 || typeof args[1] === 'string')) {
      const f = fastFields(args[0]);
      if (f === undefined) return void (heavy()[name] as (...a: unknown[]) => void)(...args);
      fields = f;
      msg = args[1];
    } else {
      (heavy()[name] as (...a: unknown[]) => void)(...args);
      return;
    }
    if (typeof msg === 'string' && msg.includes('%')) {
      (heavy()[name] as (...a: unknown[]) => void)(...args);
      return;
    }
    const text = msg === undefined ? '' : `,"msg":${JSON.stringify(msg)}`;
    options.write(`{"level":${value},"time":${Date.now()},"pid":${process.pid}${bound}${fields}${text}}\n`);
  };

  const light = {
    trace: method('trace'), debug: method('debug'), info: method('info'),
    warn: method('warn'), error: method('error'), fatal: method('fatal'),
    isLevelEnabled: (name: string) => (heavyLogger ? heavyLogger.isLevelEnabled(name) : levelValue(name) >= threshold),
    bindings: () => (heavyLogger ? heavyLogger.bindings() : { ...bindings }),
    flush: (cb?: (err?: Error) => void) => (heavyLogger ? heavyLogger.flush(cb) : cb?.()),
  };

  // Every other property (child, levels, serializers, on, ...) is real pino's: the logger
  // becomes the heavy one from then on, so nothing differs from pino but the load time.
  return new Proxy(light, {
    get(target, prop, receiver) {
      if (prop === 'level') return heavyLogger ? heavyLogger.level : levelName;
      if (Object.prototype.hasOwnProperty.call(target, prop)) return Reflect.get(target, prop, receiver);
      const real = heavy() as unknown as Record<string | symbol, unknown>;
      const v = real[prop];
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(real) : v;
    },
    set(_target, prop, value) {
      if (prop === 'level' && !heavyLogger) {
        threshold = levelValue(String(value));
        levelName = String(value);
        return true;
      }
      (heavy() as unknown as Record<string | symbol, unknown>)[prop] = value;
      return true;
    },
  }) as unknown as Logger;
}
