#!/usr/bin/env node
/**
 * scripts/mutants.js: a small mutation audit ("a test that passes with the feature deleted is not a
 * test"). For one compiled module it lists simple mutants, applies each in turn to a SCRATCH COPY
 * of the built tree, runs the given test files (stopping at the first that fails) and prints
 * killed / survived. No dependency beyond the TypeScript compiler the build already uses (its
 * parser reads the compiled JS).
 *
 *   npm run build
 *   mkdir /tmp/mutroot && tar --exclude=./node_modules --exclude=./.git -cf - . | tar -xf - -C /tmp/mutroot
 *   ln -s "$PWD/node_modules" /tmp/mutroot/node_modules
 *   node scripts/mutants.js --root /tmp/mutroot --module fastcgi/request --sample 40 \
 *     dist/test/fastcgi/request.test.js dist/test/fastcgi/request-body.test.js
 *
 * Mutations: an if condition negated, made true, made false; a ?: condition negated; < <= > >=
 * swapped with their neighbour, === with !==, && with ||, ?? with &&; + n with - n; a statement,
 * return or throw deleted; a string literal that names an error code or a header changed.
 * The file is restored after each mutant (and on Ctrl-C). A survivor is either equivalent (a
 * speed-only path: say so) or behaviour that no test checks (write the test that kills it).
 * Options: --sample N (default all, shuffled with --seed), --timeout MS per test file (default
 * 60000: some files take ~10 s; a hang counts as killed), --json (one JSON line per mutant).
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

function parseArgs(argv) {
  const o = { sample: Infinity, seed: 7, timeout: 60_000, json: false, tests: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--root') o.root = path.resolve(argv[++i]);
    else if (a === '--module') o.module = argv[++i];
    else if (a === '--sample') o.sample = Number(argv[++i]);
    else if (a === '--seed') o.seed = Number(argv[++i]);
    else if (a === '--timeout') o.timeout = Number(argv[++i]);
    else if (a === '--json') o.json = true;
    else o.tests.push(a);
  }
  if (!o.root || !o.module || o.tests.length === 0) {
    console.error('usage: mutants.js --root SCRATCH_COPY --module DIR/NAME [--sample N] [--seed S] [--timeout MS] [--json] TEST.js...');
    process.exit(2);
  }
  if (fs.existsSync(path.join(o.root, '.git'))) {
    console.error(`${o.root} has a .git: give a scratch copy of the tree, never the repository (its dist/ is mutated)`);
    process.exit(2);
  }
  return o;
}

const SWAPS = new Map([
  [ts.SyntaxKind.LessThanToken, '<='], [ts.SyntaxKind.LessThanEqualsToken, '<'],
  [ts.SyntaxKind.GreaterThanToken, '>='], [ts.SyntaxKind.GreaterThanEqualsToken, '>'],
  [ts.SyntaxKind.EqualsEqualsEqualsToken, '!=='], [ts.SyntaxKind.ExclamationEqualsEqualsToken, '==='],
  [ts.SyntaxKind.AmpersandAmpersandToken, '||'], [ts.SyntaxKind.BarBarToken, '&&'],
  [ts.SyntaxKind.QuestionQuestionToken, '&&'],
]);
/** NAMED: string literals worth changing: error codes, header names. */
const NAMED = /^(?:[A-Z][A-Z0-9]*_[A-Z0-9_]+|[A-Za-z]+(?:-[A-Za-z]+)+|status|location|cookie)$/;

/** mutantsOf: [{ start, end, repl, line, kind, orig }] for the compiled JS text. */
function mutantsOf(file, text) {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const out = [];
  const add = (kind, node, repl, start = node.getStart(sf), end = node.end) => out.push({
    kind, start, end, repl, line: sf.getLineAndCharacterOfPosition(start).line + 1, orig: text.slice(start, end).slice(0, 60),
  });
  const visit = (node) => {
    if (ts.isIfStatement(node)) {
      const c = node.expression;
      add('if-negate', c, `!(${c.getText(sf)})`);
      add('if-true', c, 'true');
      add('if-false', c, 'false');
    } else if (ts.isConditionalExpression(node)) {
      add('cond-negate', node.condition, `!(${node.condition.getText(sf)})`);
    } else if (ts.isBinaryExpression(node)) {
      const op = node.operatorToken;
      const swap = SWAPS.get(op.kind);
      if (swap) add(`${op.getText(sf)} -> ${swap}`, op, swap);
      if ((op.kind === ts.SyntaxKind.PlusToken || op.kind === ts.SyntaxKind.MinusToken) && ts.isNumericLiteral(node.right)) {
        add(`${op.getText(sf)} n`, op, op.kind === ts.SyntaxKind.PlusToken ? '-' : '+');
      }
    } else if (ts.isStringLiteral(node) && NAMED.test(node.text)
      && !(ts.isCallExpression(node.parent) && node.parent.expression.getText(sf) === 'require')) {
      add('string', node, JSON.stringify(`${node.text}X`));
    }
    if (ts.isExpressionStatement(node) || ts.isReturnStatement(node) || ts.isThrowStatement(node)) {
      if (!/^(?:exports\.|Object\.defineProperty\(exports|"use strict")/.test(node.getText(sf))) {
        add(ts.isThrowStatement(node) ? 'delete throw' : ts.isReturnStatement(node) ? 'delete return' : 'delete statement', node, ';');
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function shuffle(list, seed) {
  let s = seed;
  const rnd = () => { s = (s * 1103515245 + 12345) & 0x7fffffff; return s / 0x7fffffff; };
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  const file = path.join(o.root, 'dist', 'src', `${o.module}.js`);
  const original = fs.readFileSync(file, 'utf8');
  const restore = () => fs.writeFileSync(file, original);
  process.on('SIGINT', () => { restore(); process.exit(130); });
  const mutants = shuffle(mutantsOf(file, original), o.seed).slice(0, o.sample);
  const counts = { killed: 0, survived: 0, invalid: 0 };
  try {
    for (const m of mutants) {
      fs.writeFileSync(file, original.slice(0, m.start) + m.repl + original.slice(m.end));
      let status = 'survived';
      let by = '';
      if (spawnSync(process.execPath, ['--check', file]).status !== 0) status = 'invalid';
      else {
        for (const t of o.tests) {
          // DUALCGI_BUNDLE=off: a CGI hit loads the mutated file, not the bundle built before it.
          const r = spawnSync(process.execPath, ['--test', `--test-timeout=${o.timeout}`, t],
            { cwd: o.root, stdio: 'ignore', timeout: o.timeout * 2, env: { ...process.env, DUALCGI_BUNDLE: 'off' } });
          if (r.status !== 0) { status = 'killed'; by = t; break; }
        }
      }
      counts[status]++;
      if (o.json) console.log(JSON.stringify({ module: o.module, ...m, status, by }));
      else console.log(`${status.padEnd(9)} L${m.line} ${m.kind}: ${JSON.stringify(m.orig)} -> ${m.repl.slice(0, 40)}${by ? `  (${by})` : ''}`);
    }
  } finally {
    restore();
  }
  console.error(`${o.module}: ${counts.killed} killed, ${counts.survived} survived, ${counts.invalid} invalid of ${mutants.length}`);
}

main();
