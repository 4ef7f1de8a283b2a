import { readFileSync } from 'node:fs';
import { createContext, formatFindings, runDoctor } from '../../deploy/doctor';
import { parseArgs, stringFlag } from '../args';
import type { Command } from '../command';
import { CliError, UsageError } from '../errors';

const flags = {
  server: { type: 'string' },
  user: { type: 'string' },
  path: { type: 'string' },
  verbose: { short: 'v', type: 'boolean' },
} as const;

/** startsWithShebang: the file's first bytes are #! (unreadable: assume so, and let the checks say why). */
function startsWithShebang(file: string): boolean {
  try {
    return readFileSync(file, 'latin1').startsWith('#!');
  } catch {
    return true;
  }
}

/**
 * doctor: check a deployment and name each problem with its fix, one line each; exit 1 if any.
 * `--server nginx|lighttpd` skips the .htaccess checks; `--user` is who the web server runs as.
 */
export const doctor: Command = {
  summary: 'check a deployment (script, interpreter, permissions, .htaccess, app load, real requests)',
  usage: 'dualcgi doctor [--server apache|nginx|lighttpd] [--user www-data] [--path /] [-v] [DIR|SCRIPT (default .)]',
  async run(argv, io) {
    const args = parseArgs(argv, flags);
    if (args.positionals.length > 1) throw new UsageError('expected at most one DIR or SCRIPT');
    const server = stringFlag(args, 'server') ?? 'apache';
    if (!['apache', 'apache-fcgid', 'apache-cgi', 'nginx', 'lighttpd'].includes(server)) {
      throw new UsageError(`--server must be apache, nginx or lighttpd, not ${JSON.stringify(server)}`);
    }
    const path = stringFlag(args, 'path');
    if (path !== undefined && !path.startsWith('/')) throw new UsageError('--path must start with /');
    const target = args.positionals[0] ?? '.';
    const user = stringFlag(args, 'user');
    const ctx = createContext({
      target, server: server.startsWith('apache') ? 'apache' : 'other',
      ...(user !== undefined ? { user } : {}), ...(path !== undefined ? { path } : {}),
    });
    if (!ctx) throw new CliError('DOCTOR_ERR_NO_SCRIPT', `no dispatch.fcgi or dispatch.cgi at ${target}; fix: dualcgi init ${target}`);
    // Neither named for a handler (AddHandler .fcgi/.cgi) nor a #! script (spawn-fcgi, bin-path): the app itself, say.
    if (!/\.f?cgi$/.test(ctx.script) && !startsWithShebang(ctx.script)) {
      throw new CliError('DOCTOR_ERR_NOT_SCRIPT', `${target} is not an entry script (*.fcgi or *.cgi); give its folder or its dispatch.fcgi`);
    }
    if (!ctx.user) io.stderr.write(`dualcgi doctor: no user ${user ?? 'www-data'}: permission checks skipped (--user NAME)\n`);
    io.stdout.write(`dualcgi doctor: ${ctx.script}${ctx.user ? ` (as ${ctx.user.name})` : ''}\n`);
    const findings = await runDoctor(ctx);
    io.stdout.write(formatFindings(findings, args.flags['verbose'] === true));
    return findings.some((f) => !f.ok) ? 1 : 0;
  },
};
