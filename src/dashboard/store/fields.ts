/**
 * Field readers for untrusted events. A producer is any process that can connect to the socket, so
 * an event's fields may have any type and any size: these coerce and bound, and never throw.
 */

/** Limits: how much of one event the dashboard keeps. */
export const Limits = {
  /** text: one string field (a header value, a message). */
  text: 2048,
  /** preview: a STDIN/STDOUT preview; producers already bound it, this is the backstop. */
  preview: 16 * 1024,
  /** pairs: name-value pairs kept per params/headers list. */
  pairs: 400,
  /** eventBytes: a kept log/error event serialized larger than this is reduced to its message. */
  eventBytes: 8 * 1024,
} as const;

/** str: a string field, bounded; anything else becomes `fallback`. */
export function str(value: unknown, fallback = '', max: number = Limits.text): string {
  if (typeof value === 'string') return value.length > max ? `${value.slice(0, max)}…` : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return fallback;
}

/** optStr: a string field or undefined. */
export function optStr(value: unknown, max: number = Limits.text): string | undefined {
  return typeof value === 'string' ? str(value, '', max) : undefined;
}

/** num: a finite number field, else `fallback`. */
export function num(value: unknown, fallback = 0): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/** optNum: a finite number field or undefined. */
export function optNum(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** pairs: a list of [name, value] string pairs, bounded in count and length; bad entries skipped. */
export function pairs(value: unknown): Array<[string, string]> {
  if (!Array.isArray(value)) return [];
  const out: Array<[string, string]> = [];
  for (const item of value) {
    if (out.length >= Limits.pairs) break;
    if (Array.isArray(item) && item.length >= 2) out.push([str(item[0]), str(item[1])]);
  }
  return out;
}

/**
 * boundEvent: a log or error event as kept for display. A hostile or careless producer can send a
 * line of almost a megabyte; the log ring holds thousands, so anything larger than
 * Limits.eventBytes keeps only its pino core fields and a cut message.
 */
export function boundEvent(event: Record<string, unknown>): Record<string, unknown> {
  let size: number;
  try {
    size = JSON.stringify(event).length;
  } catch {
    size = Infinity; // a cycle cannot come from JSON.parse, but be safe
  }
  if (size <= Limits.eventBytes) return event;
  const kept: Record<string, unknown> = {};
  for (const key of ['level', 'time', 'pid', 'ev', 'rid', 'mode', 'phase', 'code']) {
    if (key in event) kept[key] = typeof event[key] === 'string' ? str(event[key], '', 200) : event[key];
  }
  kept['msg'] = `${str(event['msg'], '', 500)} [event of ${size} bytes cut]`;
  if (typeof event['stack'] === 'string') kept['stack'] = str(event['stack'], '', 4000);
  return kept;
}
