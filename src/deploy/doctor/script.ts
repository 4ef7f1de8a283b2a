import { accessSync, constants, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { type DoctorContext, type Finding, pass, problem } from './types';
import { blockedFolder, mayAccess } from './users';

/** BARE_PATH: where execvp looks when the environment has no PATH (glibc: lighttpd mod_cgi). */
const BARE_PATH = ['/bin', '/usr/bin'];

/** Shebang: the interpreter line, parsed as the kernel does (one optional argument). */
export interface Shebang {
  interpreter: string;
  arg: string | undefined;
}

/** parseShebang: null when the file does not start with `#!`. */
export function parseShebang(firstLine: string): Shebang | null {
  if (!firstLine.startsWith('#!')) return null;
  const rest = firstLine.slice(2).trim();
  const space = rest.search(/[ \t]/);
  if (space === -1) return { interpreter: rest, arg: undefined };
  return { interpreter: rest.slice(0, space), arg: rest.slice(space).trim() || undefined };
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** checkText: CRLF line endings and the shebang line. Returns the findings and the interpreter, if usable. */
function checkText(ctx: DoctorContext, text: string): { findings: Finding[]; interpreter: string | null } {
  const name = basename(ctx.script);
  const findings: Finding[] = [];
  const firstLine = text.split('\n')[0] ?? '';
  if (text.includes('\r\n')) {
    findings.push(problem('DOCTOR_CRLF',
      `${name} has CRLF (Windows) line endings: the kernel looks for an interpreter named "...node\\r" ("No such file or directory")`,
      `sed -i 's/\\r$//' ${ctx.script}`));
  } else findings.push(pass('DOCTOR_CRLF', 'LF line endings'));
  const shebang = parseShebang(firstLine.replace(/\r$/, ''));
  if (!shebang) {
    findings.push(problem('DOCTOR_SHEBANG', `${name} does not start with #! (the server cannot execute it)`,
      `make its first line #!${process.execPath} (dualcgi init writes it)`));
    return { findings, interpreter: null };
  }
  if (shebang.interpreter.endsWith('/env')) {
    const program = (shebang.arg ?? '').replace(/^-S\s+/, '').split(/\s+/)[0] ?? '';
    const found = BARE_PATH.map((d) => `${d}/${program}`).find(isExecutableFile);
    if (!found) {
      findings.push(problem('DOCTOR_ENV_NODE',
        `#!${shebang.interpreter} ${program}: with a web server's bare PATH (lighttpd mod_cgi passes none: /bin:/usr/bin) there is no ${program}`,
        `use an absolute interpreter: #!${process.execPath}`));
      return { findings, interpreter: null };
    }
    findings.push(pass('DOCTOR_ENV_NODE', `#!${shebang.interpreter} ${program} finds ${found} even with a bare PATH`));
    return { findings, interpreter: found };
  }
  if (!shebang.interpreter.startsWith('/') || !isExecutableFile(shebang.interpreter)) {
    findings.push(problem('DOCTOR_INTERPRETER', `the interpreter ${shebang.interpreter} in the #! line does not exist or is not executable`,
      `make the first line #!${process.execPath} (or rerun dualcgi init --force)`));
    return { findings, interpreter: null };
  }
  findings.push(pass('DOCTOR_INTERPRETER', `interpreter ${shebang.interpreter}`));
  return { findings, interpreter: shebang.interpreter };
}

/**
 * namedPaths: files the script names in string literals (dualcgi's folder, the app, an env file):
 * the web server's user must read those too. A heuristic, but it catches the usual case: dualcgi
 * or the app under /root or a home folder www-data cannot enter.
 */
export function namedPaths(text: string, dir: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/(["'])((?:\/|\.\.?\/)[^"'\n]*)\1/g)) {
    const path = resolve(dir, m[2]!);
    try {
      statSync(path);
      out.add(path);
    } catch {
      // not a file here (a URL path, a pattern)
    }
  }
  return [...out];
}

/** checkUserAccess: the web server's user must read and execute the script and the interpreter, through searchable folders. */
function checkUserAccess(ctx: DoctorContext, interpreter: string | null, text: string, executable: boolean): Finding[] {
  const user = ctx.user;
  if (!user) return [];
  const findings: Finding[] = [];
  // A script with no x bit at all is DOCTOR_EXECUTABLE's line; its fix (chmod 0755) covers www-data too.
  const targets: Array<[string, string]> = executable ? [[ctx.script, 'script']] : [];
  if (interpreter) targets.push([realpathOr(interpreter), 'interpreter']);
  const named = namedPaths(text, ctx.dir);
  for (const path of named) targets.push([path, 'file the script names']);
  let ok = true;
  const reported = new Set<string>();
  for (const [path, what] of targets) {
    const blocked = blockedFolder(path, user);
    if (blocked) {
      ok = false;
      if (reported.has(blocked)) continue; // one folder, one line
      reported.add(blocked);
      // What the user sees: Apache refuses the URL itself; a FastCGI process nginx or lighttpd
      // needs cannot be started (exec fails), and they answer 502 / 503.
      const shows = ctx.server === 'apache' ? 'Apache: 403 AH00529 or exec failure' : 'its process cannot be started: the web server answers 502 or 503';
      findings.push(problem('DOCTOR_FOLDER', `${user.name} cannot search ${blocked}, on the way to the ${what} ${path} (${shows})`,
        `chmod o+x ${blocked} (or keep the ${what} somewhere ${user.name} can reach)`));
      continue;
    }
    const need = what === 'file the script names' ? (statSync(path).isDirectory() ? 'rx' : 'r') : 'rx';
    if (!mayAccess(path, user, need)) {
      ok = false;
      findings.push(problem('DOCTOR_USER_ACCESS', `${user.name} cannot ${need === 'r' ? 'read' : 'read and execute'} the ${what} ${path}`,
        `chmod ${need === 'r' ? 'a+r' : '0755'} ${path}`));
    }
  }
  if (ok) findings.push(pass('DOCTOR_USER_ACCESS', `${user.name} can reach the script, its interpreter and ${named.length} file(s) it names`));
  return findings;
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * checkScript: the entry script as the kernel and the web server will treat it. Returns whether
 * it can be run at all (so the synthetic requests are worth trying).
 */
export function checkScript(ctx: DoctorContext): { findings: Finding[]; runnable: boolean } {
  let text: string;
  try {
    text = readFileSync(ctx.script, 'latin1');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      findings: [problem('DOCTOR_SCRIPT', `cannot read ${ctx.script} (${code ?? 'error'})`, `dualcgi init ${ctx.dir}`)],
      runnable: false,
    };
  }
  const { findings, interpreter } = checkText(ctx, text);
  const executable = isExecutableFile(ctx.script) && (statSync(ctx.script).mode & 0o111) !== 0;
  if (!executable) {
    findings.push(problem('DOCTOR_EXECUTABLE', `${basename(ctx.script)} is not executable (Apache: 500 "exec failed" or "End of script output before headers")`,
      `chmod 0755 ${ctx.script}`));
  } else findings.push(pass('DOCTOR_EXECUTABLE', 'executable'));
  findings.push(...checkUserAccess(ctx, interpreter, text, executable));
  const runnable = executable && interpreter !== null && !text.includes('\r\n');
  return { findings, runnable };
}
