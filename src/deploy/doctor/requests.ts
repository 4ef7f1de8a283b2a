import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { parseCgiResponse } from '../../client/cgi-response';
import { FastCGIClientConnection } from '../../client/fastcgi-client';
import { launchFastCGIScript, runCgiScript } from '../../client/launch';
import { buildCgiParams } from '../../client/params';
import { excerpt } from '../../client/stack-excerpt';
import { PROBE_ENV, PROBE_MARK, type ProbeReport } from './probe';
import { type DoctorContext, type Finding, pass, problem } from './types';

const BARE_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };

function tail(text: string, lines = 6): string {
  return text.trim().split('\n').slice(-lines).map((l) => `    ${l}`).join('\n');
}

/** missingApp: the app file itself that does not exist (not a module it requires), from the load error. */
function missingApp(report: ProbeReport): string | null {
  const m = /^cannot load app (.+?): Cannot find module '([^']+)'/.exec(report.message ?? '');
  return m && m[1] === m[2] ? m[1]! : null;
}

/** runProbe: start the script as a web server would (bare environment, cwd its folder) in probe mode. */
function runProbe(ctx: DoctorContext): Promise<{ stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(ctx.script, [], { cwd: ctx.dir, env: { ...BARE_ENV, [PROBE_ENV]: 'load' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString('latin1'); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString('utf8'); });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, ctx.timeoutMs);
    child.once('error', (err) => { stderr += err.message; });
    child.once('close', () => {
      clearTimeout(timer);
      resolve({ stdout, stderr, timedOut });
    });
  });
}

function loadFix(report: ProbeReport): string {
  const text = `${report.message ?? ''}\n${report.stack ?? ''}`;
  if (/Cannot find module|MODULE_NOT_FOUND|ERR_MODULE_NOT_FOUND/.test(text)) return 'install the missing module (npm ci in the app\'s folder) or fix the path';
  if (/SyntaxError/.test(text)) return 'fix the syntax error shown below';
  if (report.code === 'APP_ERR_EXPORT') return 'export a (req, res) listener, an object with fetch(), or a factory returning one';
  return 'fix the error shown below (it is thrown while the app loads)';
}

/** checkLoad: the app loads (no syntax error, missing module, throw at load) and writes nothing to stdout while loading. */
export async function checkLoad(ctx: DoctorContext): Promise<Finding[]> {
  const { stdout, stderr, timedOut } = await runProbe(ctx);
  const line = stderr.split('\n').find((l) => l.startsWith(PROBE_MARK));
  if (!line) {
    const why = timedOut ? `did not finish loading within ${ctx.timeoutMs / 1000} s` : 'failed before dualcgi could load the app';
    return [{ ...problem('DOCTOR_LOAD', `${basename(ctx.script)} ${why}`, 'see the output below; is dualcgi where the script requires it?'),
      detail: timedOut ? tail(stderr) : excerpt(stderr) }];
  }
  const report = JSON.parse(line.slice(PROBE_MARK.length)) as ProbeReport;
  const findings: Finding[] = [];
  const missing = report.ok ? null : missingApp(report);
  if (report.ok) findings.push(pass('DOCTOR_LOAD', 'the app loads'));
  else if (missing !== null) {
    findings.push(problem('DOCTOR_LOAD', `the app ${missing} does not exist`,
      `create it, or correct app: in ${basename(ctx.script)} (a relative path starts from the script's folder)`));
  } else {
    // One line: a load error's message may carry more lines (require's "Require stack:").
    const message = (report.message ?? '').split('\n')[0];
    findings.push({
      ...problem('DOCTOR_LOAD', `the app fails to load: ${report.code ? `${report.code}: ` : ''}${message}`, loadFix(report)),
      ...(report.stack ? { detail: excerpt(report.stack) } : {}),
    });
  }
  if (stdout.length > 0) {
    const shown = JSON.stringify(stdout.length > 60 ? `${stdout.slice(0, 60)}...` : stdout);
    findings.push(problem('DOCTOR_STDOUT', `the app writes to stdout while loading, past console (${shown}): in CGI mode it lands before the response head`,
      'log to stderr (console.error) or through req.log; never write to fd 1 directly'));
  } else findings.push(pass('DOCTOR_STDOUT', 'nothing reaches stdout while loading'));
  return findings;
}

/** Answer: a synthetic request's outcome. */
interface Answer {
  status: number;
  location?: string;
  body: string;
}

function answerOf(stdout: Buffer): Answer {
  const res = parseCgiResponse(stdout);
  const location = res.headers.find(([n]) => n.toLowerCase() === 'location')?.[1];
  return { status: res.status, body: res.body.toString('latin1'), ...(location !== undefined ? { location } : {}) };
}

/** askCgi: one CGI hit, as mod_cgi would run it under the classic .htaccess. */
async function askCgi(ctx: DoctorContext, target: string): Promise<Answer> {
  const params = buildCgiParams({ mode: 'cgi', target, scriptName: `/${basename(ctx.script)}`, documentRoot: ctx.dir, scriptFilename: ctx.script });
  const r = await runCgiScript(ctx.script, { env: params, timeoutMs: ctx.timeoutMs });
  if (r.timedOut) throw new Error(`no answer within ${ctx.timeoutMs / 1000} s`);
  try {
    return answerOf(r.stdout);
  } catch (err) {
    throw new Error(`${(err as Error).message}${r.stderr.length ? `\n${tail(r.stderr.toString('utf8'))}` : ''}`);
  }
}

/** Asker: sends one request with the given REQUEST_URI target. */
type Asker = (target: string) => Promise<Answer>;

function judge(code: string, what: string, answer: Answer): Finding {
  if (answer.status >= 500) return problem(code, `${what} answered ${answer.status}`, 'see the app\'s stderr (the web server\'s error log); dualcgi request shows the whole answer');
  return pass(code, `${what} answered ${answer.status}`);
}

/**
 * checkMount: the app must route the same whether the browser's URL carried the script
 * (/dispatch.fcgi/x) or not (/x, the rewrite), and never put the script's name into URLs the
 * browser did not use (the seed's "Proxy Mount Point" problem).
 */
async function checkMount(ctx: DoctorContext, ask: Asker, plain: Answer): Promise<Finding> {
  const script = `/${basename(ctx.script)}`;
  const leak = (plain.location ?? '').includes(script) || plain.body.includes(`${script}/`);
  if (leak) {
    return problem('DOCTOR_MOUNT', `the app puts ${script} into its URLs (${plain.location ? `Location: ${plain.location}` : 'in the body'}) although the browser never saw it`,
      'build links from req.originalUrl / req.dualcgi.mountPoint, not SCRIPT_NAME (keep stripMountPoint on)');
  }
  const direct = await ask(`${script}${ctx.path}`);
  if (direct.status !== plain.status) {
    return problem('DOCTOR_MOUNT', `${ctx.path} answers ${plain.status} but ${script}${ctx.path} answers ${direct.status}: the app routes on the mount point`,
      'leave stripMountPoint on (the default) so the app sees the same path both ways');
  }
  return pass('DOCTOR_MOUNT', `same answer with and without ${script} in the URL`);
}

/** checkCgi: a synthetic CGI request (the script run as mod_cgi would). */
export async function checkCgi(ctx: DoctorContext): Promise<Finding[]> {
  try {
    const plain = await askCgi(ctx, ctx.path);
    const findings = [judge('DOCTOR_CGI', `a CGI request for ${ctx.path}`, plain)];
    if (basename(ctx.script).endsWith('.cgi')) findings.push(await checkMount(ctx, (t) => askCgi(ctx, t), plain));
    return findings;
  } catch (err) {
    return [problem('DOCTOR_CGI', `a CGI request for ${ctx.path} failed: ${(err as Error).message}`, 'run it by hand: dualcgi request --cgi SCRIPT /')];
  }
}

/** checkFastCGI: a synthetic FastCGI request on a listening socket passed as fd 0, as mod_fcgid does. */
export async function checkFastCGI(ctx: DoctorContext): Promise<Finding[]> {
  let launched;
  try {
    launched = await launchFastCGIScript(ctx.script, { env: { DUALCGI_RUN_DIR: 'off' } });
  } catch (err) {
    return [problem('DOCTOR_FCGI', `cannot start ${ctx.script} as FastCGI: ${(err as Error).message}`, 'fix the problems above first')];
  }
  const ask: Asker = async (target) => {
    const conn = await FastCGIClientConnection.connect(launched.address);
    const timer = setTimeout(() => conn.destroy(), ctx.timeoutMs);
    try {
      const params = buildCgiParams({ mode: 'fcgi', target, scriptName: `/${basename(ctx.script)}`, documentRoot: ctx.dir, scriptFilename: ctx.script });
      return answerOf((await conn.request({ params })).stdout);
    } finally {
      clearTimeout(timer);
      conn.destroy();
    }
  };
  try {
    const plain = await ask(ctx.path);
    const findings = [judge('DOCTOR_FCGI', `a FastCGI request for ${ctx.path}`, plain)];
    if (!basename(ctx.script).endsWith('.cgi')) findings.push(await checkMount(ctx, ask, plain));
    return findings;
  } catch (err) {
    const stderr = launched.output().stderr.toString('utf8');
    return [{ ...problem('DOCTOR_FCGI', `a FastCGI request for ${ctx.path} failed: ${(err as Error).message}`, 'see the process output below'),
      ...(stderr ? { detail: tail(stderr) } : {}) }];
  } finally {
    await launched.stop(1000);
  }
}
