import type { ReadItem } from './trace/reader';

/**
 * formatItem: one trace item as one short line, for the demo's printout (the dashboard and
 * `dualcgi tail` are the full views).
 */
export function formatItem(item: ReadItem): string {
  if (item.kind === 'text') return `[text] ${item.text}`;
  const e = item.event as unknown as Record<string, unknown>;
  const head = `pid ${String(e['pid']).padEnd(6)} ${String(e['mode'] ?? '').padEnd(4)} ${String(e['ev']).padEnd(13)}`;
  switch (e['ev']) {
    case 'record': {
      const params = Array.isArray(e['params']) ? ` ${(e['params'] as Array<[string, string]>).length} params` : '';
      return `${head} ${e['dir'] === 'in' ? '<-' : '->'} ${String(e['type']).padEnd(13)} id=${e['requestId']} len=${e['contentLength']}${params}${e['role'] ? ` ${e['role']}` : ''}${e['protocolStatus'] ? ` ${e['protocolStatus']}` : ''}`;
    }
    case 'request.end':
      return `${head} ${e['method']} ${e['uri']} ${e['status']} ${e['durationMs']}ms in=${e['bytesIn']}B out=${e['bytesOut']}B`;
    case 'error':
      return `${head} ${e['phase']}: ${e['msg']}`;
    default:
      return `${head} ${String(e['msg'] ?? '')}`;
  }
}
