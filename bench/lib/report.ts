// The output: a table per group (medians, min-max, ratios against the peers of the same run), the
// targets, and the same as JSON + markdown under bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { groupRatio, type Group, type SuiteResult, type Target } from './results';
import { summarize } from './stats';

/** RunInfo: what the run was (for the files and the header). */
export interface RunInfo {
  started: string;
  finished: string;
  quick: boolean;
  options: Record<string, unknown>;
  machine: Record<string, string | number>;
}

/** formatValue: a figure with the precision its unit deserves. */
export function formatValue(v: number, unit: string): string {
  if (!Number.isFinite(v)) return '-';
  if (unit === 'ms') return v < 1 ? v.toFixed(3) : v < 100 ? v.toFixed(2) : v.toFixed(1);
  if (unit === 'MiB' || unit === 'MiB/s') return v.toFixed(1);
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  return Number(v.toPrecision(3)).toString();
}

function formatRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}x` : '-';
}

/** groupRows: header and rows of one group's table. */
function groupRows(g: Group): string[][] {
  const extraKeys = [...new Set(g.series.flatMap((s) => Object.keys(s.extra)))];
  const anyErrors = g.series.some((s) => s.errors > 0);
  const header = ['variant', `median ${g.unit}`, 'min-max', 'n', ...g.refs.map((r) => `vs ${r}`), ...extraKeys];
  if (anyErrors) header.push('errors');
  const rows = g.series.map((s) => {
    const sum = summarize(s.samples);
    if (s.skipped !== undefined && sum.n === 0) return [s.variant, 'skipped'];
    const row = [
      s.variant,
      formatValue(sum.median, g.unit),
      `${formatValue(sum.min, g.unit)}-${formatValue(sum.max, g.unit)}`,
      String(sum.n),
      ...g.refs.map((r) => (r === s.variant ? '1.00x' : formatRatio(groupRatio(g, s.variant, r)))),
      ...extraKeys.map((k) => (s.extra[k] === undefined ? '-' : formatValue(s.extra[k]!, k.endsWith('ms') ? 'ms' : k))),
    ];
    if (anyErrors) row.push(String(s.errors));
    return row;
  });
  return [header, ...rows];
}

function textTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}

function markdownTable(rows: string[][]): string {
  const [header, ...body] = rows;
  const width = header!.length;
  const line = (r: string[]): string => `| ${[...r, ...Array(Math.max(0, width - r.length)).fill('')].join(' | ')} |`;
  return [line(header!), `|${' --- |'.repeat(width)}`, ...body.map(line)].join('\n');
}

function direction(g: Group): string {
  return g.higherIsBetter ? 'higher is better' : 'lower is better';
}

function targetRows(targets: Target[]): string[][] {
  return [['target', 'goal', 'measured', 'met'], ...targets.map((t) => [
    t.description, t.goal, Number.isFinite(t.measured) ? Number(t.measured.toPrecision(3)).toString() : '-',
    t.pass === undefined ? 'n/a' : t.pass ? 'yes' : 'NO',
  ])];
}

/** skips: why variants were skipped, one line each. */
function skips(g: Group): string[] {
  return g.series.filter((s) => s.skipped !== undefined && s.samples.length === 0).map((s) => `${s.variant} skipped: ${s.skipped}`);
}

/** renderText: the table printed to stdout. */
export function renderText(results: SuiteResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    for (const g of r.groups) {
      const ratios = g.refs.length > 0 ? '; ratios > 1 mean better than the peer' : '';
      out.push(`\n== ${g.suite}: ${g.title} (${g.unit}, ${direction(g)}${ratios})`);
      out.push(textTable(groupRows(g)));
      for (const line of skips(g)) out.push(`   ${line}`);
    }
    for (const n of r.notes) out.push(`   note (${r.suite}): ${n}`);
  }
  const targets = results.flatMap((r) => r.targets);
  if (targets.length > 0) out.push('\n== targets (issue 7)', textTable(targetRows(targets)));
  return out.join('\n') + '\n';
}

/** renderMarkdown: the same as a markdown document. */
export function renderMarkdown(results: SuiteResult[], info: RunInfo): string {
  const out = [`# dualcgi benchmark ${info.started}${info.quick ? ' (quick: not meaningful)' : ''}`, ''];
  out.push(`Machine: ${Object.entries(info.machine).map(([k, v]) => `${k} ${v}`).join(', ')}.`);
  out.push(`Options: \`${JSON.stringify(info.options)}\`. Ratios > 1 mean better than the peer.`, '');
  for (const r of results) {
    for (const g of r.groups) {
      out.push(`## ${g.suite}: ${g.title}`, '', `${g.unit}, ${direction(g)}.`, '', markdownTable(groupRows(g)), '');
      for (const line of skips(g)) out.push(`- ${line}`, '');
    }
    for (const n of r.notes) out.push(`- ${r.suite}: ${n}`);
    if (r.notes.length) out.push('');
  }
  const targets = results.flatMap((r) => r.targets);
  if (targets.length > 0) out.push('## Targets (issue 7)', '', markdownTable(targetRows(targets)), '');
  return out.join('\n');
}

/** writeResults: <dir>/<stamp>.json and .md, plus latest.json and latest.md; returns the paths. */
export function writeResults(dir: string, results: SuiteResult[], info: RunInfo): string[] {
  mkdirSync(dir, { recursive: true });
  const stamp = info.started.replace(/[:.]/g, '-');
  const json = JSON.stringify({ info, results }, null, 2) + '\n';
  const md = renderMarkdown(results, info);
  const files = [join(dir, `${stamp}.json`), join(dir, `${stamp}.md`), join(dir, 'latest.json'), join(dir, 'latest.md')];
  writeFileSync(files[0]!, json);
  writeFileSync(files[1]!, md);
  writeFileSync(files[2]!, json);
  writeFileSync(files[3]!, md);
  return files.slice(0, 2);
}
