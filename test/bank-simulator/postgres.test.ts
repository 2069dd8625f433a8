/**
 * The simulator on a PostgreSQL server (BANK_DATABASE_URL), sharing the
 * database with Coffer's own schema, and racing confirmations of one request.
 * Skipped loudly when no server answers (a failure in CI).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { migrateToLatest, openStore } from '../../src/platform/db/store.ts';
import { migrations } from '../../src/migrations.ts';
import { createServerDatabase, postgresUnavailable } from '../support/stores.ts';
import {
  type BankUnderTest,
  cardBalance,
  deliveredNotification,
  notificationsOf,
  openAccount,
  PASSWORD,
  startInProcess,
  startPayment,
  submit,
  uniqueNo,
  virtualBalance,
} from './support.ts';

const unavailable = await postgresUnavailable();
if (unavailable && process.env.CI) throw new Error(`${unavailable}; CI must run the PostgreSQL suites`);
if (unavailable) console.warn(`\n!!! SKIPPING bank simulator PostgreSQL-server tests: ${unavailable}\n`);

async function raceConfirmations(bank: BankUnderTest, copies: number): Promise<void> {
  const userNo = uniqueNo('u');
  const { cardNumber } = await openAccount(bank, userNo);
  const { page, requestNo } = await startPayment(bank, 'RECHARGE', userNo, '10.00');
  const answers = await Promise.all(Array.from({ length: copies }, () => submit(bank, page, { password: PASSWORD })));
  assert.equal(answers.filter((a) => a.status === 303).length, 1, `exactly one confirmation wins: ${answers.map((a) => a.status).join(',')}`);
  assert.ok(answers.every((a) => a.status === 303 || a.status === 409));
  assert.equal(await virtualBalance(bank, userNo), '10.00');
  assert.equal(await cardBalance(bank, cardNumber), '990.00');
  await deliveredNotification(bank, requestNo);
  assert.equal((await notificationsOf(bank, requestNo)).length, 1, 'one notification per request');
}

describe('bank simulator on the embedded store: racing confirmations', () => {
  let bank: BankUnderTest;
  before(async () => {
    bank = await startInProcess();
  });
  after(() => bank.close());

  it('moves money once when one confirm form is posted several times at once', () => raceConfirmations(bank, 5));
});

describe('bank simulator on a PostgreSQL server', { skip: unavailable ? `SKIPPED: ${unavailable}` : false }, () => {
  let bank: BankUnderTest;
  let database: Awaited<ReturnType<typeof createServerDatabase>>;

  before(async () => {
    database = await createServerDatabase();
    // Coffer's schema first: the bank's migrations must live beside it without conflict.
    const coffer = await openStore({ databaseUrl: database.url });
    await migrateToLatest(coffer, migrations);
    await coffer.close();
    bank = await startInProcess({ BANK_DATABASE_URL: database.url });
  });

  after(async () => {
    await bank?.close();
    await database?.drop();
  });

  it('opens an account, recharges and withdraws', async () => {
    const userNo = uniqueNo('u');
    const { cardNumber, requestNo } = await openAccount(bank, userNo);
    assert.equal((await deliveredNotification(bank, requestNo)).result.status, 'SUCCESS');
    const recharge = await startPayment(bank, 'RECHARGE', userNo, '50.00');
    await submit(bank, recharge.page, { password: PASSWORD });
    const withdraw = await startPayment(bank, 'WITHDRAW', userNo, '20.00', { fee: '1.00' });
    await submit(bank, withdraw.page, { password: PASSWORD });
    assert.equal((await deliveredNotification(bank, withdraw.requestNo)).result.status, 'SUCCESS');
    assert.equal(await virtualBalance(bank, userNo), '30.00');
    assert.equal(await cardBalance(bank, cardNumber), '969.00');
  });

  it('moves money once when one confirm form is posted several times at once', () => raceConfirmations(bank, 8));

  it('migrates again without complaint (Coffer and bank histories apart)', async () => {
    const coffer = await openStore({ databaseUrl: database.url });
    try {
      await migrateToLatest(coffer, migrations);
    } finally {
      await coffer.close();
    }
  });
});
