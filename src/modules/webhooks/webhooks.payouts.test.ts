import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { payoutFinalToWebhook, type PayoutFinalMessage } from './webhooks.payouts.ts';
import { canTransition, deliveryStatuses, deliveryTransitions } from './webhooks.types.ts';

const payout = { id: 'po_1', updated: '2026-11-22T08:00:00.000Z', amount: '10.00', status: 'SUCCEEDED' };

describe('payout.final -> webhook event', () => {
  test('each final status maps to its event type, the payout view as data, one source key per (payout, status)', () => {
    const cases = [
      ['SUCCEEDED', 'payout.succeeded'],
      ['FAILED', 'payout.failed'],
      ['REVERSED', 'payout.reversed'],
    ] as const;
    for (const [status, type] of cases) {
      const input = payoutFinalToWebhook({ merchantId: 'mch_1', status, payout });
      assert.deepEqual(input, { merchantId: 'mch_1', type, data: payout, resourceUpdatedAt: payout.updated, sourceKey: `payout:po_1:${status}` });
    }
  });

  test('a payload without the payout id or updated time, or with another status, is refused loudly', () => {
    assert.throws(() => payoutFinalToWebhook({ merchantId: 'mch_1', status: 'PENDING', payout } as unknown as PayoutFinalMessage));
    assert.throws(() => payoutFinalToWebhook({ merchantId: 'mch_1', status: 'FAILED', payout: { id: 'po_1' } } as unknown as PayoutFinalMessage));
  });

  test('the delivery transitions table: final states stay final, only a resend revives a DEAD one', () => {
    for (const from of deliveryStatuses) for (const to of deliveryTransitions[from]) assert.ok(deliveryStatuses.includes(to));
    assert.ok(canTransition('PENDING', 'DELIVERED'));
    assert.ok(canTransition('DEAD', 'PENDING'));
    assert.ok(!canTransition('DELIVERED', 'DEAD'));
    assert.ok(!canTransition('CANCELLED', 'PENDING'));
  });
});
