import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { parseAddress } from '../../net/address';
import { createPlan, writeDeployment } from '../../deploy/init';
import { RESTART_FILE, SERVER_KINDS, type ServerKind, snippets } from '../../deploy/templates';
import { parseArgs, stringFlag } from '../args';
import type { Command } from '../command';
import { UsageError } from '../errors';

const flags = {
  server: { type: 'string' },
  app: { type: 'string' },
  bind: { type: 'string' },
  user: { type: 'string' },
  force: { type: 'boolean' },
} as const;

function serverKind(value: string | undefined): ServerKind {
  const v = value ?? 'apache-fcgid';
  if (!(SERVER_KINDS as readonly string[]).includes(v)) throw new UsageError(`--server must be one of ${SERVER_KINDS.join(', ')}, not ${JSON.stringify(v)}`);
  return v as ServerKind;
}

/**
 * init: write a deployment into DIR (entry script, .htaccess for Apache, tmp/ for the restart
 * file) and print what the server config needs. Run it again any time: same output, nothing
 * overwritten that someone changed (unless --force); exit 1 when a file was kept.
 */
export const init: Command = {
  summary: 'write dispatch.fcgi (+ .htaccess) for a deployment and print the server config',
  usage: `dualcgi init [--server ${SERVER_KINDS.join('|')}] [--app PATH (default DIR/app.js)] [--bind unix:/path.sock] ` +
    '[--user www-data] [--force] [DIR (default .)]',
  async run(argv, io) {
    const args = parseArgs(argv, flags);
    if (args.positionals.length > 1) throw new UsageError('expected at most one DIR');
    const bind = stringFlag(args, 'bind');
    if (bind !== undefined) {
      try {
        parseAddress(bind);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
    }
    const user = stringFlag(args, 'user');
    const app = stringFlag(args, 'app');
    const plan = createPlan({
      server: serverKind(stringFlag(args, 'server')), dir: args.positionals[0] ?? '.',
      ...(app !== undefined ? { app } : {}), ...(bind !== undefined ? { bind } : {}), ...(user !== undefined ? { user } : {}),
    });
    const outcomes = writeDeployment(plan, args.flags['force'] === true);
    const out = [`dualcgi init: ${plan.dir} (${plan.server}; node ${plan.node}; dualcgi ${plan.dualcgi})`];
    for (const o of outcomes) {
      out.push(`  ${o.action.padEnd(11)} ${relative(plan.dir, o.path) || o.path}${o.note ? `  (${o.note})` : ''}`);
    }
    if (!existsSync(plan.appPath)) out.push(`  note        ${plan.appPath} does not exist yet: the entry script loads it`);
    // mod_cgi starts a process per hit: there is nothing to reload.
    const reload = plan.server === 'apache-cgi' ? 'nothing to do (every hit runs the code on disk)' : `touch ${plan.dir}/${RESTART_FILE}`;
    out.push('', 'next:', `  dualcgi doctor ${plan.dir}`, `  after a deploy: ${reload}`, '');
    io.stdout.write(`${out.join('\n')}\n${snippets(plan).join('\n')}`);
    const kept = outcomes.filter((o) => o.action === 'kept');
    if (kept.length > 0) {
      io.stderr.write(`dualcgi init: kept ${kept.length} changed file(s); compare them with the above or rerun with --force\n`);
      return 1;
    }
    return 0;
  },
};
