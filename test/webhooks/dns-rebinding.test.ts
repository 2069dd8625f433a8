/**
 * Outside the sandbox a webhook's host name is checked when its connection
 * resolves it, not before: a name whose DNS answer turns internal between a
 * check and the connection (DNS rebinding) never reaches the internal address.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { SecretBox } from '../../src/modules/merchants/index.ts';
import { WebhooksService } from '../../src/modules/webhooks/index.ts';
import { SystemClock } from '../../src/platform/clock.ts';
import { openTestStore } from '../support/stores.ts';
import { Receiver } from './support.ts';

describe('webhooks and DNS rebinding (pglite store)', () => {
  let store: Awaited<ReturnType<typeof openTestStore>>;
  const receiver = new Receiver();
  const secrets = new SecretBox(randomBytes(32));

  before(async () => {
    store = await openTestStore('pglite');
    await receiver.start();
  });

  after(async () => {
    await receiver.stop();
    await store?.dispose();
  });

  function service(options: { allowInternalAddresses: boolean; answers?: string[][] }): WebhooksService {
    const answers = options.answers ?? [];
    let asked = 0;
    return new WebhooksService({
      db: store.db,
      clock: new SystemClock(),
      secrets,
      options: { timeoutMs: 300, allowInternalAddresses: options.allowInternalAddresses },
      resolve: async () => (answers[asked++ % answers.length] ?? []).map((address) => ({ address })),
    });
  }

  async function recordOne(webhooks: WebhooksService, merchantId: string) {
    await store.db.transaction().execute((trx) =>
      webhooks.record(trx, { merchantId, type: 'payout.succeeded', data: { id: merchantId, updated: new Date().toISOString() }, resourceUpdatedAt: new Date(), sourceKey: merchantId }),
    );
    return (await webhooks.listDeliveries({ merchantId, limit: 10 })).data[0]!;
  }

  test('a name that answers a public address, then 127.0.0.1, is never called at 127.0.0.1; the sandbox calls it', async () => {
    // `localhost` stands for a merchant's name whose DNS the merchant controls: the system resolver really answers 127.0.0.1.
    const url = receiver.url('/rebind').replace('127.0.0.1', 'localhost');
    const sandbox = service({ allowInternalAddresses: true });
    await sandbox.createEndpoint('mch_sandbox', url.replace('/rebind', '/sandbox'));
    await recordOne(sandbox, 'mch_sandbox');
    assert.equal(await sandbox.deliverDue(), 1);
    assert.equal(receiver.at('/sandbox').length, 1, 'in the sandbox the name is called: the receiver is there');

    await sandbox.createEndpoint('mch_rebind', url);
    const guarded = service({ allowInternalAddresses: false, answers: [['203.0.113.10'], ['127.0.0.1']] });
    const delivery = await recordOne(guarded, 'mch_rebind');
    assert.equal(await guarded.deliverDue(), 1);
    await guarded.resend('mch_rebind', delivery.id);
    const { attempts } = (await guarded.getDelivery('mch_rebind', delivery.id))!;
    assert.equal(attempts.length, 2);
    assert.ok(attempts.every((a) => a.httpStatus === null && a.error !== null), 'neither attempt got an answer');
    assert.match(attempts.find((a) => a.attempt === 2)!.error!, /localhost resolves to 127\.0\.0\.1, an internal address/);
    assert.equal(receiver.at('/rebind').length, 0, 'nothing reached the internal address');
  });
});
