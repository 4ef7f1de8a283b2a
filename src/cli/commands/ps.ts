import { parseArgs } from '../args';
import type { Command } from '../command';
import { UsageError } from '../errors';
import { userName } from '../../launch/proc';
import { type ProcessStatus, readStatuses } from '../../launch/registry';

const flags = {
  json: { type: 'boolean' },
} as const;

/** formatUptime: 45s, 12m03s, 5h02m, 3d04h. */
export function formatUptime(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
}

/** formatTable: one line per process that owns a socket, one indented line per worker under it. */
export function formatTable(statuses: ProcessStatus[], now = Date.now()): string {
  const header = ['PID', 'USER', 'LISTEN', 'UPTIME', 'REQS', 'BUSY', 'GEN', 'VERSION', 'APP'];
  const rows = statuses.map((s) => [
    String(s.pid), userName(s.uid), s.listen, formatUptime(now - Date.parse(s.startedAt)), String(s.requests),
    String(s.inFlight), `${s.generation}${s.reloading ? '*' : ''}`, s.version ?? '-', s.app,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const lines = [row(header, widths)];
  statuses.forEach((s, i) => {
    lines.push(row(rows[i]!, widths));
    const notes: string[] = [];
    if (s.servesItself) notes.push('serves itself (no reload yet)');
    if (s.restartFile) notes.push(`restart file ${s.restartFile}`);
    if (s.watch) notes.push('watching');
    if (s.maxRequests > 0) notes.push(`max ${s.maxRequests} requests`);
    if (s.lastReload) {
      const r = s.lastReload;
      notes.push(`last reload ${r.at.slice(11, 19)} (${r.reason}) ${r.ok ? `ok in ${r.ms} ms` : `FAILED: ${r.error}`}`);
    }
    if (notes.length > 0) lines.push(`    ${notes.join('; ')}`);
    for (const w of s.workers) {
      lines.push(`  └ ${w.pid} worker, generation ${w.generation}, ${w.state}, ${w.requests} requests, ${w.inFlight} busy` +
        `${w.version ? `, version ${w.version}` : ''}${w.loadedAt ? `, loaded ${w.loadedAt.slice(11, 19)}` : ''}`);
    }
  });
  return `${lines.join('\n')}\n`;
}

/**
 * ps: the FastCGI processes of this user (as root: of every user), from the registry each one
 * keeps current (launch/registry). CGI hits are not listed: each lives for one request.
 */
export const ps: Command = {
  summary: 'list running dualcgi FastCGI processes: app, socket, requests, version, workers',
  usage: 'dualcgi ps [--json]\n  reads $DUALCGI_RUN_DIR, $XDG_RUNTIME_DIR/dualcgi, /tmp/dualcgi-<uid> (as root: every user\'s)',
  async run(argv, io) {
    const args = parseArgs(argv, flags);
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[0])} (ps takes none)`);
    const statuses = readStatuses();
    if (args.flags['json'] === true) {
      io.stdout.write(`${JSON.stringify(statuses, null, 2)}\n`);
      return 0;
    }
    if (statuses.length === 0) {
      io.stdout.write('no dualcgi FastCGI processes running (CGI hits are not listed; run as root to see other users\')\n');
      return 0;
    }
    io.stdout.write(formatTable(statuses));
    return 0;
  },
};
