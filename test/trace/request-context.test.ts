import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { consoleRid, requestContext, runInRequest } from '../../src/trace/request-context';

const later = <T>(fn: () => T): Promise<T> => new Promise((resolve) => setTimeout(() => resolve(fn()), 1));

describe('request context of console output', () => {
  it('costs no AsyncLocalStorage until the app writes to the console, then keeps each request\'s context', async () => {
    assert.equal(consoleRid(), undefined, 'output before any request belongs to none');
    // The server's own output before requests does not turn the context on.
    assert.equal(runInRequest('r-1', () => requestContext.getStore()), undefined, 'no AsyncLocalStorage yet');
    assert.equal(runInRequest('r-2', () => consoleRid()), 'r-2', 'synchronous output is attributed anyway');
    // The first output came while serving: from now on requests run in their context.
    const fromCallback = await runInRequest('r-3', () => later(() => consoleRid()));
    assert.equal(fromCallback, 'r-3', 'output from a callback is attributed to its request');
    assert.equal(runInRequest('r-4', () => requestContext.getStore()), 'r-4');
    assert.equal(consoleRid(), undefined, 'outside any request again');
  });
});
