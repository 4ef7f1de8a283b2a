import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromTracedRequest, toCurl, toEnvFile, toReplayFile, type TracedRequestLike } from '../capture/export';
import { REDACTED } from '../trace/redact';
import { isSecret } from './views/detail';

/** ExportOptions: the dashboard's flags that apply. */
export interface ExportOptions {
  /** showSecrets: --show-secrets: Cookie, Authorization (... ) values go into the files as traced. */
  showSecrets?: boolean;
}

/**
 * exportRequest: the dashboard's `x`: the selected request as a curl command, an env file for
 * dispatch.cgi and a replay file, written (0600: they may hold cookies) into `dir`. Returns the
 * lines the popup shows. A body the trace did not keep (redacted) is said so inside the files.
 * Secret values a producer sent (it runs with DUALCGI_SHOW_SECRETS=1) are written only with
 * --show-secrets: the dashboard hid them on screen, and wrote them into the files all the same.
 */
export function exportRequest(entry: TracedRequestLike & { rid: string }, dir: string, options: ExportOptions = {}): string[] {
  let hid = false;
  const params = options.showSecrets === true ? entry.params : entry.params.map(([name, value]): [string, string] => {
    if (!isSecret(name) || value === REDACTED) return [name, value];
    hid = true;
    return [name, REDACTED];
  });
  const req = fromTracedRequest({ ...entry, params });
  const base = join(dir, `dualcgi-${entry.rid.replace(/[^A-Za-z0-9_-]/g, '_')}`);
  // The curl command and the env file's run line read a body from a file: this one, written here.
  const bodyFile = req.body !== null && req.body.length > 0 ? `${base}.body` : undefined;
  const files: Array<[string, string | Buffer]> = [
    [`${base}.curl.sh`, toCurl(req, bodyFile !== undefined ? { bodyFile } : {})],
    [`${base}.env`, toEnvFile(req, { envFile: `${base}.env`, ...(bodyFile !== undefined ? { bodyFile } : {}) })],
    [`${base}.replay.ndjson`, toReplayFile(req, { mode: 'fcgi' })],
    ...(bodyFile !== undefined ? [[bodyFile, req.body!] as [string, Buffer]] : []),
  ];
  for (const [file, text] of files) writeFileSync(file, text, { mode: 0o600 });
  return [
    `exported request ${entry.rid}:`,
    ...files.map(([file]) => `  ${file}`),
    req.body === null ? 'its body was not traced (start the app with DUALCGI_SHOW_SECRETS=1 to keep bodies)' : '',
    hid ? `Cookie, Authorization (...) values written as ${REDACTED} (the dashboard with --show-secrets writes them)` : '',
    `replay: dualcgi replay ${base}.replay.ndjson TARGET [--as-cgi]`,
  ].filter((l) => l !== '');
}
