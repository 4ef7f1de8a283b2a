import type { RecordEntry } from '../store/requests';
import { plain } from '../text';
import { visible } from '../format/describe';
import { paint, type Style } from './theme';

/** PopupLine: plain text and its style. */
export interface PopupLine {
  text: string;
  style: Style;
}

/**
 * previewBytes: a record preview back to bytes. Producers escape bytes that are not printable as
 * `\xNN` (and `\r`, `\n`, `\t`, `\\`); anything else is taken as UTF-8 text.
 */
export function previewBytes(preview: string): Buffer {
  const parts: Buffer[] = [];
  let text = '';
  for (let i = 0; i < preview.length; i++) {
    const c = preview[i]!;
    const next = preview[i + 1];
    if (c === '\\' && next === 'x' && /^[0-9a-fA-F]{2}$/.test(preview.slice(i + 2, i + 4))) {
      parts.push(Buffer.from(text, 'utf8'), Buffer.from([parseInt(preview.slice(i + 2, i + 4), 16)]));
      text = '';
      i += 3;
    } else if (c === '\\' && next !== undefined && 'rnt\\'.includes(next)) {
      text += next === 'r' ? '\r' : next === 'n' ? '\n' : next === 't' ? '\t' : '\\';
      i += 1;
    } else {
      text += c;
    }
  }
  parts.push(Buffer.from(text, 'utf8'));
  return Buffer.concat(parts);
}

/** hexDump: `offset  hex bytes  |ascii|`, `perLine` bytes a line. */
export function hexDump(bytes: Buffer, perLine: number): string[] {
  const lines: string[] = [];
  for (let off = 0; off < bytes.length; off += perLine) {
    const chunk = bytes.subarray(off, off + perLine);
    const hex = [...chunk].map((b) => b.toString(16).padStart(2, '0')).join(' ').padEnd(perLine * 3 - 1);
    const ascii = [...chunk].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${off.toString(16).padStart(8, '0')}  ${hex}  |${ascii}|`);
  }
  return lines;
}

/** recordPopupLines: a stream record's content as text, then as hex. */
export function recordPopupLines(record: RecordEntry, width: number): PopupLine[] {
  const lines: PopupLine[] = [{
    text: `${record.dir === 'in' ? '→ in' : '← out'} ${record.type}  id=${record.requestId} len=${record.contentLength} pad=${record.paddingLength}`,
    style: 'bold',
  }];
  if (record.redacted || record.preview === undefined) {
    lines.push({ text: 'body redacted by the app process; start it with DUALCGI_SHOW_SECRETS=1 to see bodies', style: 'dim' });
    return lines;
  }
  // Producers end a preview they cut with `…` (src/trace/redact.ts); it is not content.
  const bytes = previewBytes(record.preview.endsWith('…') ? record.preview.slice(0, -1) : record.preview);
  const cutNote = bytes.length < record.contentLength ? ` (first ${bytes.length} of ${record.contentLength} bytes)` : '';
  lines.push({ text: '', style: 'normal' }, { text: `▸ text${cutNote}`, style: 'heading' });
  for (const line of bytes.toString('utf8').split('\n')) lines.push({ text: visible(line.replace(/\r$/, '')), style: 'normal' });
  lines.push({ text: '', style: 'normal' }, { text: '▸ hex', style: 'heading' });
  for (const line of hexDump(bytes, width >= 78 ? 16 : 8)) lines.push({ text: line, style: 'dim' });
  return lines;
}

/** helpLines: the keys. */
export function helpLines(): PopupLine[] {
  const keys: Array<[string, string]> = [
    ['↑ ↓  j k', 'move (requests, detail lines, log)'],
    ['PgUp PgDn', 'move a page'],
    ['Home End g G', 'first / last (End in the list: follow)'],
    ['Enter', 'request list: open its detail · on a STDIN/STDOUT record: its bytes'],
    ['Tab S-Tab', 'next / previous pane'],
    ['/', 'filter (new): words match the path; 5xx 404 POST cgi fcgi pid:123 is:error !word'],
    ['f', 'follow the newest request'],
    ['p', 'pause the list (events keep arriving)'],
    ['c', 'clear everything'],
    ['x', 'export the selected request: curl command, env file for dispatch.cgi, replay file'],
    ['Esc', 'close this / clear the filter'],
    ['q  C-c', 'quit'],
  ];
  return [
    { text: 'dualcgi dashboard', style: 'heading' }, { text: '', style: 'normal' },
    ...keys.map(([k, v]) => ({ text: `${k.padEnd(14)} ${v}`, style: 'normal' as Style })),
    { text: '', style: 'normal' }, { text: 'Any key closes this help.', style: 'dim' },
  ];
}

/** paintPopup: lines from `scroll` on, fitted to the popup's inner size. */
export function paintPopup(lines: PopupLine[], width: number, height: number, scroll: number): string {
  const start = Math.max(0, Math.min(scroll, lines.length - height));
  return lines.slice(start, start + height).map((l) => paint(plain(l.text).slice(0, width), l.style)).join('\n');
}
