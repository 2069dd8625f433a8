/**
 * The portal's batch pages through the HTTP stack on a fake batches port (the
 * payout-batches module has its own tests): a file input upload reaches the
 * service as text, a refused file shows its errors per line and keeps the
 * pasted text, and Approve is offered only to a checker who did not make the
 * batch. Plus the multipart parser on its own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTestStore } from '../../test/support/stores.ts';
import { loadConfig } from '../platform/config.ts';
import { DomainError } from '../platform/errors.ts';
import { buildHttpServer, type CofferApp } from '../platform/http/server.ts';
import { createLogger } from '../platform/log.ts';
import { createMetrics } from '../platform/metrics.ts';
import { CSRF_COOKIE, csrfToken, newCsrfSecret } from './csrf.ts';
import { webHttpModule } from './index.ts';
import { parseMultipart } from './multipart.ts';
import type { UiBatch, UiOperator, WebBatches, WebOperators, WebUsers } from './ports.ts';
import { csrfBinding } from './session.ts';

test('the multipart parser reads text fields and a file, and refuses a torn body', () => {
  const body = Buffer.from(
    '--XyZ\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\ntok\r\n' +
      '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\nh1,h2\r\n1,2\r\n\r\n' +
      '--XyZ\r\nContent-Disposition: form-data; name="csv"\r\n\r\n\r\n--XyZ--\r\n',
  );
  const parsed = parseMultipart(body, 'multipart/form-data; boundary=XyZ');
  assert.equal(parsed._csrf, 'tok');
  assert.equal(parsed.csv, '');
  const file = parsed.file as { filename: string; content: Buffer };
  assert.equal(file.filename, 'a.csv');
  assert.equal(file.content.toString(), 'h1,h2\r\n1,2\r\n');
  assert.throws(() => parseMultipart(body.subarray(0, 60), 'multipart/form-data; boundary=XyZ'), /not closed/);
  assert.throws(() => parseMultipart(body, 'multipart/form-data'), /no boundary/);
});

describe('portal batch pages (fake batches port)', () => {
  const operators: Record<string, UiOperator> = {
    co_maker: { id: 'op_maker', username: 'mia', role: 'maker', merchantId: 'mch_1' },
    co_checker: { id: 'op_checker', username: 'carl', role: 'checker', merchantId: 'mch_1' },
    co_checker2: { id: 'op_checker2', username: 'cleo', role: 'checker', merchantId: 'mch_1' },
  };
  const created: { merchantId: string; csv: string; by: string }[] = [];
  const batch = (createdBy: string): UiBatch => ({
    id: 'pb_1',
    status: 'AWAITING_APPROVAL',
    count: 2,
    totalAmount: '30.00',
    currency: 'CNY',
    createdBy,
    byStatus: [{ status: 'AWAITING_APPROVAL', count: 2, amount: '30.00' }],
  });
  const batches: WebBatches = {
    async create(merchantId, csv, actor) {
      if (csv.includes('bad')) throw new DomainError('VALIDATION_FAILED', 'The file has 2 bad rows', { errors: [{ line: 3, reason: 'amount <b>x</b> is not a number' }, { line: 2, reason: 'currency missing' }] });
      created.push({ merchantId, csv, by: actor.operatorId });
      return batch(`operator:${actor.operatorId}`);
    },
    async list() {
      return { data: [], hasMore: false };
    },
    async get() {
      return batch('operator:op_checker2');
    },
    async approve() {
      return batch('operator:op_checker2');
    },
    async reject() {
      return batch('operator:op_checker2');
    },
    async resultsCsv() {
      return (async function* lines() {
        yield 'merchantOrderNo,payoutId,status\n';
        yield 'A1,po_1,SUCCEEDED\n';
      })();
    },
  };
  const webOperators: WebOperators = {
    async login() {
      throw new DomainError('INVALID_OPERATOR_CREDENTIALS');
    },
    async logout() {},
    async operatorForSession(token) {
      return operators[token];
    },
  };
  const users: WebUsers = {
    async register() {},
    async login() {
      throw new DomainError('INVALID_CREDENTIALS');
    },
    async logout() {},
    async userForSession() {
      return undefined;
    },
  };
  let app: CofferApp;
  let dispose: () => Promise<void>;
  const secret = newCsrfSecret();
  const as = (token: string) => ({
    headers: { cookie: `${CSRF_COOKIE}=${secret}; coffer_operator=${token}`, host: 'localhost' },
    csrf: csrfToken(secret, csrfBinding({ csrfSecret: secret, sessionToken: undefined, user: undefined, operatorToken: token, operator: undefined })),
  });

  before(async () => {
    const store = await openTestStore('pglite');
    const config = loadConfig({ LOG_LEVEL: 'silent' });
    app = await buildHttpServer({
      config,
      store,
      logger: createLogger(config),
      metrics: createMetrics(),
      modules: [webHttpModule({ publicUrl: 'http://localhost', ports: { users, operators: webOperators, batches } })],
    });
    dispose = async () => {
      await app.close();
      await store.dispose();
    };
  });
  after(() => dispose?.());

  function multipart(fields: Record<string, string>, file?: { filename: string; content: string }) {
    const boundary = 'testBoundary42';
    let body = '';
    for (const [name, value] of Object.entries(fields)) body += `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    if (file) body += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.filename}"\r\nContent-Type: text/csv\r\n\r\n${file.content}\r\n`;
    return { payload: `${body}--${boundary}--\r\n`, contentType: `multipart/form-data; boundary=${boundary}` };
  }

  test('a file input upload reaches the service as text, for the operator\'s merchant, and leads to the batch', async () => {
    const { headers, csrf } = as('co_maker');
    const { payload, contentType } = multipart({ _csrf: csrf, csv: '' }, { filename: 'pay.csv', content: 'merchantOrderNo,amount\nA1,10.00' });
    const answer = await app.inject({ method: 'POST', url: '/ui/portal/batches', headers: { ...headers, 'content-type': contentType }, payload });
    assert.equal(answer.statusCode, 303, answer.body.slice(0, 300));
    assert.equal(answer.headers.location, '/ui/portal/batches/pb_1?notice=batch-created');
    assert.deepEqual(created, [{ merchantId: 'mch_1', csv: 'merchantOrderNo,amount\nA1,10.00', by: 'op_maker' }]);
  });

  test('an upload without the token is refused and reaches no service', async () => {
    const { headers } = as('co_maker');
    const { payload, contentType } = multipart({ csv: 'x' });
    const answer = await app.inject({ method: 'POST', url: '/ui/portal/batches', headers: { ...headers, 'content-type': contentType }, payload });
    assert.equal(answer.statusCode, 403);
    assert.equal(created.length, 1);
  });

  test('a refused file shows every bad line in order, escaped, keeps the pasted text, and creates nothing', async () => {
    const { headers, csrf } = as('co_maker');
    const { payload, contentType } = multipart({ _csrf: csrf, csv: 'bad,file' });
    const answer = await app.inject({ method: 'POST', url: '/ui/portal/batches', headers: { ...headers, 'content-type': contentType }, payload });
    assert.equal(answer.statusCode, 400);
    assert.match(answer.body, /The file was not accepted: nothing was created/);
    const rows = [...answer.body.matchAll(/<td class="num">(\d+)<\/td><td>([^<]*(?:&lt;[^<]*)*)<\/td>/g)].map((m) => [m[1], m[2]]);
    assert.deepEqual(rows, [
      ['2', 'currency missing'],
      ['3', 'amount &lt;b>x&lt;/b> is not a number'],
    ]);
    assert.match(answer.body, /<textarea id="field-csv" name="csv" rows="6">bad,file<\/textarea>/);
    assert.equal(created.length, 1);
  });

  test('Approve is offered to a checker who did not make the batch, never to its maker or to a maker', async () => {
    const other = await app.inject({ method: 'GET', url: '/ui/portal/batches/pb_1', headers: as('co_checker').headers });
    assert.match(other.body, /data-testid="decide"/);
    assert.match(other.body, /Approve batch/);
    const creator = await app.inject({ method: 'GET', url: '/ui/portal/batches/pb_1', headers: as('co_checker2').headers });
    assert.doesNotMatch(creator.body, /Approve batch/);
    assert.match(creator.body, /You made this batch: another checker must approve or reject it\./);
    const maker = await app.inject({ method: 'GET', url: '/ui/portal/batches/pb_1', headers: as('co_maker').headers });
    assert.doesNotMatch(maker.body, /Approve batch/);
    assert.match(maker.body, /only checkers approve or reject batches/);
  });

  test('the results CSV downloads as an attachment', async () => {
    const answer = await app.inject({ method: 'GET', url: '/ui/portal/batches/pb_1/results.csv', headers: as('co_maker').headers });
    assert.equal(answer.statusCode, 200);
    assert.match(String(answer.headers['content-type']), /^text\/csv/);
    assert.equal(answer.headers['content-disposition'], 'attachment; filename="pb_1-results.csv"');
    assert.match(answer.body, /A1,po_1,SUCCEEDED/);
  });
});
