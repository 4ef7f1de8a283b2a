/**
 * Excerpts of what a script launched as a web server launches it wrote on stderr when it failed: the
 * lines that say what and where, not the tail of a stack (Node's module loader and dualcgi's own
 * frames). Used by doctor and dev.
 */

/**
 * excerpt: the head of an error's stack or of Node's dump of an uncaught one, indented: where it
 * happened (a syntax error's file:line, source line and caret), the message, and the first frames
 * outside Node's internals. The tail of a load failure's stack is Node's module loader and
 * dualcgi's, which says nothing about the app.
 */
export function excerpt(text: string, frames = 4): string {
  let lines = text.split('\n').filter((l) => l.trim() !== '');
  // Node's dump of an uncaught require() failure starts at its own throw (node:internal/...,
  // "throw err;", a caret): the error line below it is the news.
  if (lines[0]?.startsWith('node:internal/')) {
    const error = lines.findIndex((l) => /^[A-Za-z]*Error\b/.test(l));
    if (error > 0) lines = lines.slice(error);
  }
  const out: string[] = [];
  let shown = 0;
  for (const line of lines) {
    if (/^\s+at /.test(line)) {
      if (line.includes('(node:internal/') || /^\s+at node:internal\//.test(line)) continue;
      if (shown++ >= frames) break;
    } else if (shown > 0) break; // past the frames: Node's dump of the error's own fields
    out.push(line);
  }
  return out.map((l) => `    ${l}`).join('\n');
}

/**
 * failureExcerpt: the excerpt of the last failure in a process's whole stderr (it may hold the
 * app's log lines before): from the last line dualcgi wrote about a fatal error (`dualcgi: ...`),
 * else from the last `...Error` line and the location lines above it; else its last lines.
 */
export function failureExcerpt(text: string): string {
  const lines = text.trimEnd().split('\n');
  let start = -1;
  for (let i = lines.length - 1; i >= 0 && start === -1; i--) if (lines[i]!.startsWith('dualcgi: ')) start = i;
  if (start === -1) {
    for (let i = lines.length - 1; i >= 0 && start === -1; i--) {
      // A syntax error's file:line, source and caret come before its SyntaxError line.
      if (/^[A-Za-z]*Error\b/.test(lines[i]!)) start = /^\S+:\d+$/.test(lines[i - 4] ?? '') ? i - 4 : i;
    }
  }
  if (start === -1) return lines.slice(-8).map((l) => `    ${l}`).join('\n');
  return excerpt(lines.slice(start).join('\n'));
}
