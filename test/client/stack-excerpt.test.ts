// Excerpts of a failed script's stderr: what and where, never only the loader's frames.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { excerpt, failureExcerpt } from '../../src/client/stack-excerpt';

// What a dispatch.fcgi whose app has a syntax error writes before it exits 1 (Node 20).
const LOAD_FAILURE = [
  'dualcgi: APP_ERR_LOAD: cannot load app /srv/www/app.js: Unexpected end of input', '/srv/www/app.js:2', '', '', '',
  'SyntaxError: Unexpected end of input',
  '    at wrapSafe (node:internal/modules/cjs/loader:1464:18)', '    at Module._compile (node:internal/modules/cjs/loader:1495:20)',
  '    at Module._extensions..js (node:internal/modules/cjs/loader:1623:10)', '    at Module.load (node:internal/modules/cjs/loader:1266:32)',
  '    at Module._load (node:internal/modules/cjs/loader:1091:12)', '    at Module.require (node:internal/modules/cjs/loader:1289:19)',
  '    at require (node:internal/modules/helpers:182:18)', '    at importModule (/usr/lib/dualcgi/dist/src/launch/load-app.js:92:47)',
  '    at loadApp (/usr/lib/dualcgi/dist/src/launch/load-app.js:110:20)', '    at resolveApp (/usr/lib/dualcgi/dist/src/launch/app-server.js:38:69)',
].join('\n');

describe('stack excerpts', () => {
  it('excerpt: the head of a stack, without Node\'s internal frames, at most four frames', () => {
    const stack = ['Error: x', '    at a (/app.js:1:1)', '    at Module._compile (node:internal/modules/cjs/loader:1:1)',
      '    at b (/b.js:1:1)', '    at c (/c.js:1:1)', '    at d (/d.js:1:1)', '    at e (/e.js:1:1)'].join('\n');
    assert.equal(excerpt(stack), ['    Error: x', '        at a (/app.js:1:1)', '        at b (/b.js:1:1)', '        at c (/c.js:1:1)',
      '        at d (/d.js:1:1)'].join('\n'));
  });

  it('failureExcerpt: a load failure says what and where (the tail of its stack did not)', () => {
    const text = failureExcerpt(`app log line\n${LOAD_FAILURE}\n`);
    assert.match(text, /^ {4}dualcgi: APP_ERR_LOAD: cannot load app \/srv\/www\/app\.js: Unexpected end of input\n {4}\/srv\/www\/app\.js:2\n {4}SyntaxError: Unexpected end of input\n/);
    assert.doesNotMatch(text, /app log line|node:internal/);
  });

  it('failureExcerpt: the last of several failures; an uncaught error with its location; plain text as its last lines', () => {
    assert.match(failureExcerpt(`dualcgi: OLD: first\n${LOAD_FAILURE}`), /^ {4}dualcgi: APP_ERR_LOAD/);
    const uncaught = ['/srv/www/app.js:3', "  setTimeout(() => { throw new TypeError('x') });", '                      ^', '',
      'TypeError: x', '    at Timeout._onTimeout (/srv/www/app.js:3:29)', '    at listOnTimeout (node:internal/timers:573:17)'].join('\n');
    assert.equal(failureExcerpt(`served /a\n${uncaught}\n`), ['    /srv/www/app.js:3', "      setTimeout(() => { throw new TypeError('x') });",
      '                          ^', '    TypeError: x', '        at Timeout._onTimeout (/srv/www/app.js:3:29)'].join('\n'));
    assert.equal(failureExcerpt('one\ntwo\n'), '    one\n    two');
  });
});
