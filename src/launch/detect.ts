import { basename } from 'node:path';
import type { Mode } from '../handlers/exchange';
import { type Fd0Kind, inspectFd0 } from './fd0';

/** Detection: the mode chosen and the evidence, recorded in the first trace event. */
export type Detection =
  | { mode: Mode; reason: string; fd0: Fd0Kind }
  | { mode: 'none'; reason: string; fd0: Fd0Kind };

/** DetectInput: what detection looks at; tests pass their own. */
export interface DetectInput {
  explicit?: string | undefined;
  env: NodeJS.ProcessEnv;
  scriptPath: string | undefined;
  fd0?: Fd0Kind;
}

/**
 * detectMode: DESIGN "The entry script", in order: an explicit mode; fd 0 a *listening* socket
 * (mod_fcgid, lighttpd bin-path, spawn-fcgi); GATEWAY_INTERFACE CGI/x; the script's name.
 * The socket test comes before the environment test: lighttpd passes CGI-looking variables to
 * FastCGI workers.
 */
export function detectMode(input: DetectInput): Detection {
  const explicit = input.explicit ?? input.env['DUALCGI_MODE'];
  const fd0 = input.fd0 ?? inspectFd0();
  if (explicit && explicit !== 'auto') {
    if (explicit !== 'cgi' && explicit !== 'fcgi') {
      return { mode: 'none', reason: `unknown mode ${JSON.stringify(explicit)} (use auto, cgi or fcgi)`, fd0 };
    }
    return { mode: explicit, reason: input.explicit ? `--mode ${explicit}` : `DUALCGI_MODE=${explicit}`, fd0 };
  }
  if (fd0.kind === 'listening') return { mode: 'fcgi', reason: `fd 0 is a listening ${fd0.family} socket`, fd0 };
  const gateway = input.env['GATEWAY_INTERFACE'];
  if (gateway && gateway.startsWith('CGI/')) return { mode: 'cgi', reason: `GATEWAY_INTERFACE=${gateway}`, fd0 };
  const name = input.scriptPath ? basename(input.scriptPath) : '';
  if (name.endsWith('.fcgi') && fd0.kind === 'socket') {
    return { mode: 'fcgi', reason: `script name ${name}, fd 0 a socket of unknown state`, fd0 };
  }
  if (name.endsWith('.cgi') && fd0.kind !== 'tty') return { mode: 'cgi', reason: `script name ${name}`, fd0 };
  if (name.endsWith('.fcgi')) {
    return { mode: 'none', reason: `named ${name}, but fd 0 is ${describe(fd0)}, not a listening socket`, fd0 };
  }
  return { mode: 'none', reason: `fd 0 is ${describe(fd0)} and there is no CGI environment`, fd0 };
}

function describe(fd0: Fd0Kind): string {
  switch (fd0.kind) {
    case 'tty': return 'a terminal';
    case 'none': return 'closed';
    case 'connected-socket': return 'a connected socket';
    case 'listening': return `a listening ${fd0.family} socket`;
    default: return `a ${fd0.kind}`;
  }
}

/** explainNoMode: what a person who ran the script by hand should read instead of a hang. */
export function explainNoMode(detection: Detection, scriptPath: string | undefined): string {
  const script = scriptPath ? `./${basename(scriptPath)}` : './dispatch.fcgi';
  return [
    `dualcgi: nothing to serve (${detection.reason}).`,
    'This script is meant to be started by a web server: as FastCGI with a listening socket on fd 0',
    '(Apache mod_fcgid, lighttpd bin-path, spawn-fcgi), or as CGI with GATEWAY_INTERFACE set.',
    `To try it by hand:  npx dualcgi request ${script} /`,
    'To serve on an address: npx dualcgi serve --bind 127.0.0.1:9000 APP',
  ].join('\n') + '\n';
}
