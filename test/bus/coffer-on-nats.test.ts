/**
 * Coffer started with EVENT_BUS=nats: a depository account opening and a
 * recharge, whose wallet side is an outbox consumer, complete through
 * JetStream end to end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { outboxStats } from '../../src/platform/outbox/index.ts';
import { type DepositoryServer, openUserAccount, rechargeThroughBank, startDepositoryServer, stopDepositoryServer } from '../depository/support.ts';
import { deleteStream, natsSkip, storedMessageCount, TEST_NATS_URL, uniqueStreamNames } from '../support/nats.ts';
import { testStoreKinds } from '../support/stores.ts';

const CALLBACK = 'https://wallet.test.example/return';
const natsSkipReason = await natsSkip();

for (const { kind, skip } of await testStoreKinds()) {
  describe(`Coffer with EVENT_BUS=nats (${kind} store)`, { skip: natsSkipReason || skip }, () => {
    const names = uniqueStreamNames();
    let server: DepositoryServer;

    before(async () => {
      server = await startDepositoryServer(kind, {
        EVENT_BUS: 'nats',
        NATS_URL: TEST_NATS_URL,
        NATS_STREAM: names.natsStream,
        NATS_SUBJECT_PREFIX: names.natsSubjectPrefix,
      });
    });

    after(async () => {
      await stopDepositoryServer(server);
      await deleteStream(names.natsStream);
    });

    test('an account opening and a recharge credit the wallet through JetStream, and the books balance', async () => {
      const user = await openUserAccount(server.api, CALLBACK);
      await rechargeThroughBank(server.api, user, '100.00', CALLBACK);
      assert.equal((await server.api.wallet(user))!.balance, '100.00');
      await server.api.invariantsHold();

      assert.ok((await storedMessageCount(names.natsStream)) >= 2, 'the settlements went through the JetStream stream');
      const stats = await outboxStats(server.coffer.store.db);
      assert.equal(stats.parked, 0, 'nothing parked');
      assert.ok(stats.delivered >= 2, 'the outbox rows were published and marked delivered');
    });
  });
}
