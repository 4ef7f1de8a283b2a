import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DashboardStore } from '../../src/dashboard/store/dashboard-store';
import { parseFilter } from '../../src/dashboard/store/filter';
import { cgiRequest, fcgiRequest, item } from './fixtures';

function store(): DashboardStore {
  const s = new DashboardStore();
  const events = [
    ...fcgiRequest({ n: 1, uri: '/users/1', status: 200 }),
    ...fcgiRequest({ n: 2, uri: '/users/2', method: 'POST', status: 201 }),
    ...fcgiRequest({ n: 3, uri: '/orders?id=9', status: 404 }),
    ...fcgiRequest({ n: 4, uri: '/Orders/crash', crash: true }),
    ...cgiRequest({ pid: 900, uri: '/cgi/users', status: 503 }),
  ];
  for (const e of events) s.ingest(item(e));
  return s;
}

const cases: Array<[string, string[]]> = [
  ['', ['4242-1', '4242-2', '4242-3', '4242-4', '900-1']],
  ['users', ['4242-1', '4242-2', '900-1']],
  ['ORDERS', ['4242-3', '4242-4']],
  ['5xx', ['4242-4', '900-1']],
  ['status:404', ['4242-3']],
  ['s:2xx', ['4242-1', '4242-2']],
  ['POST', ['4242-2']],
  ['method:post', ['4242-2']],
  ['cgi', ['900-1']],
  ['mode:fcgi 5xx', ['4242-4']],
  ['pid:900', ['900-1']],
  ['is:error', ['4242-4', '900-1']],
  ['users !cgi', ['4242-1', '4242-2']],
  ['path:/users/', ['4242-1', '4242-2']],
  ['nothing-matches', []],
];

describe('parseFilter', () => {
  for (const [text, rids] of cases) {
    it(`/${text} matches ${rids.length ? rids.join(' ') : 'nothing'}`, () => {
      const s = store();
      const filter = parseFilter(text);
      assert.deepEqual(s.requests.all().filter(filter.test).map((e) => e.rid), rids);
    });
  }

  it('never throws on regex-looking or odd input', () => {
    const s = store();
    for (const text of ['(', '[a-', '\\', 'status:', '!', 'is:', '*', '5x', '{bold}']) {
      assert.doesNotThrow(() => s.requests.all().filter(parseFilter(text).test), text);
    }
  });
});
