/**
 * Coffer started with EVENT_BUS=nats: a depository account opening and a
 * recharge, whose wallet side is an outbox consumer, complete through
 * JetStream end to end; with the broker away, Coffer stays ready, says so,
 * and the settlements wait in the outbox until it is back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { outboxStats } from '../../src/platform/outbox/index.ts';
import { type DepositoryServer, eventually, openUserAccount, rechargeThroughBank, startDepositoryServer, stopDepositoryServer } from '../depository/support.ts';
import { BrokerProxy, deleteStream, natsSkip, storedMessageCount, uniqueStreamNames } from '../support/nats.ts';
import { testStoreKinds } from '../support/stores.ts';

const CALLBACK = 'https://wallet.test.example/return';
const natsSkipReason = await natsSkip();

for (const { kind, skip } of await testStoreKinds()) {
  describe(`Coffer with EVENT_BUS=nats (${kind} store)`, { skip: natsSkipReason || skip }, () => {
    const names = uniqueStreamNames();
    const broker = new BrokerProxy();
    let server: DepositoryServer;

    before(async () => {
      const natsUrl = await broker.reservePort();
      await broker.restore();
      server = await startDepositoryServer(kind, {
        EVENT_BUS: 'nats',
        NATS_URL: natsUrl,
        NATS_STREAM: names.natsStream,
        NATS_SUBJECT_PREFIX: names.natsSubjectPrefix,
      });
    });

    after(async () => {
      await stopDepositoryServer(server);
      await broker.cut();
      await deleteStream(names.natsStream);
    });

    const readiness = async () => {
      const response = await fetch(`${server.coffer.url}/readyz`);
      return { status: response.status, body: (await response.json()) as { bus?: { kind: string; connected: boolean } } };
    };
    const busGauge = async () => (await (await fetch(`${server.coffer.url}/metrics`)).text()).match(/^coffer_event_bus_connected\{bus="nats"\} (\d)$/m)?.[1];

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

    test('with the broker away Coffer stays ready and says so; a recharge settles into the outbox and credits the wallet once the broker is back', async () => {
      const user = await openUserAccount(server.api, CALLBACK);
      await eventually(async () => assert.deepEqual((await readiness()).body.bus, { kind: 'nats', connected: true }));
      assert.equal(await busGauge(), '1');

      await broker.cut();
      await eventually(async () => assert.deepEqual(await readiness(), { status: 200, body: { status: 'ok', bus: { kind: 'nats', connected: false } } }));
      assert.equal(await busGauge(), '0');
      const gateway = await server.api.gateway(user, '/my/recharge-records', { amount: '40.00', callbackUrl: CALLBACK });
      assert.equal((await server.api.notifyResult(gateway, { status: 'SUCCESS' })).text, 'OK', 'the notification is acknowledged while the broker is away');
      await sleep(700);
      assert.equal((await server.api.wallet(user))!.balance, '0.00', 'the wallet side has not heard yet');
      assert.ok((await outboxStats(server.coffer.store.db)).pending >= 1, 'the settlement waits in the outbox');

      await broker.restore();
      await eventually(async () => assert.equal((await server.api.wallet(user))!.balance, '40.00'));
      await eventually(async () => assert.equal((await readiness()).body.bus?.connected, true));
      await server.api.invariantsHold();
    });
  });
}