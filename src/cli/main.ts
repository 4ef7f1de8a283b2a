import type { Command, CommandIo } from './command';
import { CliError, UsageError } from './errors';

/**
 * The command registry: each command's module is loaded only when that command runs, so a short
 * command never pays for the dashboard's or pino-pretty's load time.
 */
const registry: Record<string, () => Command> = {
  serve: () => (require('./commands/serve') as { serve: Command }).serve,
  request: () => (require('./commands/request') as { request: Command }).request,
  init: () => (require('./commands/init') as { init: Command }).init,
  doctor: () => (require('./commands/doctor') as { doctor: Command }).doctor,
  dev: () => (require('./commands/dev') as { dev: Command }).dev,
  ps: () => (require('./commands/ps') as { ps: Command }).ps,
  reload: () => (require('./commands/reload') as { reload: Command }).reload,
  ping: () => (require('./commands/ping') as { ping: Command }).ping,
  tap: () => (require('./commands/tap') as { tap: Command }).tap,
  replay: () => (require('./commands/replay') as { replay: Command }).replay,
  lint: () => (require('./commands/lint') as { lint: Command }).lint,
  dashboard: () => (require('./commands/dashboard') as { dashboard: Command }).dashboard,
  tail: () => (require('./commands/tail') as { tail: Command }).tail,
};

const aliases: Record<string, string> = {
  top: 'dashboard',
};

/** commandNames: the registered commands (for help and tests). */
export function commandNames(): string[] {
  return Object.keys(registry);
}

function help(): string {
  const lines = ['usage: dualcgi <command> [options]', '', 'commands:'];
  for (const name of Object.keys(registry)) {
    const command = registry[name]!();
    lines.push(`  ${name.padEnd(10)} ${command.summary}`);
  }
  lines.push('', "run 'dualcgi <command> --help' for a command's options");
  return lines.join('\n') + '\n';
}

/**
 * main: the CLI's single error boundary. Exit codes: 0 ok, 1 failure, 2 usage.
 */
export async function main(argv: string[], io: CommandIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [first, ...rest] = argv;
  // serve's stdout can be a CGI response: its own code decides what a gone reader means.
  if (io.stdout === process.stdout && first !== 'serve') endOnClosedStdout();
  // `dualcgi help CMD` is `dualcgi CMD --help`, as in git and npm.
  if (first === 'help' && rest.length === 1 && registry[aliases[rest[0]!] ?? rest[0]!]) return main([rest[0]!, '--help'], io);
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    io.stdout.write(help());
    return first === undefined ? 2 : 0;
  }
  if (first === '--version') {
    io.stdout.write(`${(require('../../../package.json') as { version: string }).version}\n`);
    return 0;
  }
  const name = aliases[first] ?? first;
  const load = registry[name];
  if (!load) {
    io.stderr.write(`dualcgi: unknown command '${first}' (try 'dualcgi --help')\n`);
    return 2;
  }
  const command = load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`usage: ${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      // One line (DESIGN, CLI): a usage of a dozen lines would bury the mistake; --help has it.
      io.stderr.write(`dualcgi ${name}: ${err.message} (usage: dualcgi ${name} --help)\n`);
      return 2;
    }
    if (err instanceof CliError) {
      io.stderr.write(`dualcgi ${name}: ${err.message}\n`);
      return err.exitCode;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    const code = (e as { code?: unknown }).code;
    io.stderr.write(`dualcgi ${name}: ${typeof code === 'string' ? `${code}: ` : ''}${e.message}\n`);
    if (process.env['DUALCGI_DEBUG']) io.stderr.write(`${e.stack}\n`);
    return 1;
  }
}

let endingOnClosedStdout = false;

/**
 * endOnClosedStdout: a reader that stops reading (`dualcgi replay F --list | head`, `dualcgi ps |
 * head -1`) ends the command at once and quietly, exit 0, as `git log | head` does, instead of an
 * unhandled EPIPE with a stack.
 */
function endOnClosedStdout(): void {
  if (endingOnClosedStdout) return;
  endingOnClosedStdout = true;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    // A command that listens itself (tail) closes its socket first and returns.
    if (process.stdout.listenerCount('error') > 1) return;
    process.exit(0);
  });
}
