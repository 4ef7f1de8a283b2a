import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CaptureError } from './errors';
import { CAPTURE_FORMAT, CAPTURE_SUFFIX, type CaptureHeader } from './writer';

/** CapturedChunk: bytes as they crossed the socket; `t` in ms after the header's start. */
export interface CapturedChunk {
  t: number;
  dir: 'in' | 'out';
  data: Buffer;
}

/** Capture: a parsed capture file. */
export interface Capture {
  path: string;
  header: CaptureHeader;
  chunks: CapturedChunk[];
  /** truncated: the file reached its size bound; later bytes were counted, not kept. */
  truncated: boolean;
  /** end: the end line's fields, absent when the writer never finished (killed process). */
  end?: Record<string, unknown>;
  /** badLines: lines that could not be read (a torn last line after a crash). */
  badLines: number;
}

/** parseCapture: capture text to a Capture; throws CAPTURE_ERR_FORMAT unless the first line is a header. */
export function parseCapture(text: string, path = '(capture)'): Capture {
  const lines = text.split('\n');
  const header = parseLine(lines[0] ?? '') as Partial<CaptureHeader> | null;
  if (!header || header.capture !== CAPTURE_FORMAT) {
    throw new CaptureError('CAPTURE_ERR_FORMAT', `${path} is not a dualcgi capture file (no "${CAPTURE_FORMAT}" header line)`);
  }
  const capture: Capture = { path, header: header as CaptureHeader, chunks: [], truncated: false, badLines: 0 };
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const value = parseLine(line);
    if (value === null) capture.badLines++;
    else if (value['end'] === true) capture.end = value;
    else if (value['truncated'] === true) capture.truncated = true;
    else if ((value['dir'] === 'in' || value['dir'] === 'out') && typeof value['data'] === 'string') {
      capture.chunks.push({ t: Number(value['t']) || 0, dir: value['dir'], data: Buffer.from(value['data'], 'base64') });
    } else {
      capture.badLines++;
    }
  }
  return capture;
}

function parseLine(line: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value as Record<string, unknown> : null;
  } catch {
    return null;
  }
}

/** readCapture: read and parse a capture file. */
export function readCapture(path: string): Capture {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CaptureError('CAPTURE_ERR_NOT_FOUND', `cannot read capture ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
  }
  return parseCapture(text, path);
}

/** CaptureRef: a capture file and, optionally, which request in it (1-based, in BEGIN_REQUEST order). */
export interface CaptureRef {
  path: string;
  index?: number;
}

/**
 * locateCapture: `FILE`, `FILE#N`, `ID` or `ID#N` to a file: a path that exists wins; else the id (or
 * a unique prefix of one) is looked up in `dir`. N picks the Nth request of the connection.
 */
export function locateCapture(arg: string, dir: string): CaptureRef {
  const hash = arg.lastIndexOf('#');
  const suffix = hash === -1 ? '' : arg.slice(hash + 1);
  const name = hash !== -1 && /^\d+$/.test(suffix) ? arg.slice(0, hash) : arg;
  const index = name === arg ? undefined : Number(suffix);
  const ref = (path: string): CaptureRef => (index === undefined ? { path } : { path, index });
  if (existsSync(name) && statSync(name).isFile()) return ref(name);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(CAPTURE_SUFFIX));
  } catch {
    throw new CaptureError('CAPTURE_ERR_NOT_FOUND', `no capture file ${name}, and no capture folder ${dir} to look the id up in`);
  }
  const id = basename(name, CAPTURE_SUFFIX);
  const exact = names.find((n) => n === `${id}${CAPTURE_SUFFIX}`);
  if (exact) return ref(join(dir, exact));
  const matches = names.filter((n) => n.startsWith(id));
  if (matches.length === 1) return ref(join(dir, matches[0]!));
  if (matches.length > 1) {
    throw new CaptureError('CAPTURE_ERR_AMBIGUOUS', `${id} matches ${matches.length} captures in ${dir}; give more of the id`);
  }
  throw new CaptureError('CAPTURE_ERR_NOT_FOUND', `no capture ${name} (not a file, and no id like it in ${dir})`);
}
