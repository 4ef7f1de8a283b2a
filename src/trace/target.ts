/** TraceTarget: where a process sends its trace events. */
export type TraceTarget =
  | { kind: 'unix'; path: string }
  | { kind: 'file'; path: string }
  | { kind: 'stderr' }
  | { kind: 'off' };

/** TraceTargetError: an unparseable DUALCGI_TRACE value. code: TRACE_ERR_TARGET. */
export class TraceTargetError extends Error {
  readonly code = 'TRACE_ERR_TARGET';

  constructor(value: string) {
    super(`invalid trace target ${JSON.stringify(value)} (use unix:/path.sock, file:/path.ndjson, stderr or off)`);
    this.name = 'TraceTargetError';
  }
}

/** parseTraceTarget: `unix:/p`, `file:/p`, `stderr`, `off` (or empty). */
export function parseTraceTarget(value: string): TraceTarget {
  const v = value.trim();
  if (v === '' || v === 'off' || v === 'none') return { kind: 'off' };
  if (v === 'stderr') return { kind: 'stderr' };
  if (v.startsWith('unix:') && v.length > 5) return { kind: 'unix', path: v.slice(5) };
  if (v.startsWith('file:') && v.length > 5) return { kind: 'file', path: v.slice(5) };
  throw new TraceTargetError(value);
}

/** formatTraceTarget: the inverse of parseTraceTarget. */
export function formatTraceTarget(target: TraceTarget): string {
  return target.kind === 'unix' || target.kind === 'file' ? `${target.kind}:${target.path}` : target.kind;
}
