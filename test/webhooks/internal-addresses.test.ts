/**
 * Outside the sandbox (WEBHOOK_ALLOW_INTERNAL_ADDRESSES=false, the default when SANDBOX=false)
 * a merchant cannot point a webhook at Coffer's own host or a private network.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningCoffer } from '../../src/main.ts';
import { Admin, assertProblem, createBooks, startServer, type TestBooks } from '../merchants/support.ts';

describe('webhook endpoints may not be internal addresses outside the sandbox', () => {
  let books: TestBooks;
  let coffer: RunningCoffer;
  let admin: Admin;

  before(async () => {
    books = await createBooks('pglite');
    coffer = await startServer(books, { WEBHOOK_ALLOW_INTERNAL_ADDRESSES: 'false' });
    admin = new Admin(coffer.url);
  });

  after(async () => {
    await coffer?.close();
    await books?.dispose();
  });

  test('loopback, private and metadata addresses are refused with INVALID_WEBHOOK_URL; a public name is accepted', async () => {
    const { client } = await admin.activeMerchant();
    for (const url of ['http://127.0.0.1:8080/hooks', 'http://localhost/hooks', 'http://[::1]/hooks', 'http://10.0.0.7/hooks', 'http://169.254.169.254/latest/meta-data']) {
      const refused = await client.request('POST', '/v1/webhook-endpoints', { body: JSON.stringify({ url }) });
      assertProblem(refused, 400, 'INVALID_WEBHOOK_URL');
    }
    const accepted = await client.request('POST', '/v1/webhook-endpoints', { body: JSON.stringify({ url: 'https://hooks.merchant.example/coffer' }) });
    assert.equal(accepted.status, 201, JSON.stringify(accepted.body));
  });
});
