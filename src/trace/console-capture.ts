/**
 * console-capture: what src/handlers/serve.ts requires on every traced request, to run it in its
 * request context, which attributes console output (the capture itself is console-tap.ts).
 *
 * This module must stay one that nothing but serve.ts loads. Node 20 remembers a relative
 * require() (parent folder + specifier) only when that call is the one that first loads the
 * module; if another module loaded it first, every later `require('../trace/console-capture')`
 * resolves the path again (stat calls, package.json lookups): 3.8 µs instead of 0.5 µs per call,
 * about 5% of a traced hello request's CPU (bench/ trace suite, `hello-cpu` group; profile of
 * the serving process under wrk).
 */
export { runInRequest } from './request-context';
