// dev's emulation of the .htaccess rewrite rules.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { classicRules, parseRules, route } from '../../src/dev/rewrite';

describe('dev/rewrite', () => {
  it('the classic rules: static/ and the script itself stay, everything else goes to the script', () => {
    const rules = classicRules();
    assert.deepEqual(route(rules, '/static/a.css'), { kind: 'file', path: '/static/a.css' });
    assert.deepEqual(route(rules, '/dispatch.fcgi/foo'), { kind: 'script' });
    assert.deepEqual(route(rules, '/foo/bar'), { kind: 'script' });
    assert.deepEqual(route(rules, '/'), { kind: 'script' });
    assert.deepEqual(route(rules, '/app.js'), { kind: 'script' }, 'the app source is never served');
  });

  it('parses an .htaccess: extra passthroughs, the script name, what it does not emulate', () => {
    const rules = parseRules([
      'Options +ExecCGI', 'AddHandler cgi-script .cgi', 'RewriteEngine On', 'RewriteCond %{HTTPS} off',
      'RewriteRule ^(favicon\\.ico)$ - [L]', 'RewriteRule ^(assets/.*)$ - [L]', 'RewriteRule ^(dispatch\\.cgi/.*)$ - [L]',
      'RewriteRule ^(.*)$ dispatch.cgi/$1 [L]',
    ].join('\n'))!;
    assert.equal(rules.script, 'dispatch.cgi');
    assert.deepEqual(rules.ignored, ['RewriteCond %{HTTPS} off']);
    assert.deepEqual(route(rules, '/favicon.ico'), { kind: 'file', path: '/favicon.ico' });
    assert.deepEqual(route(rules, '/assets/x.js'), { kind: 'file', path: '/assets/x.js' });
    assert.deepEqual(route(rules, '/static/x.js'), { kind: 'script' });
    assert.equal(parseRules('RewriteEngine On\n'), null);
  });
});
