import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderFile } from './reconciliation.csv.ts';
import { closesAt, firstOpenDay, isClosedAt, nextDay, parseDay } from './reconciliation.days.ts';
import { lineFrom } from './reconciliation.service.ts';

function event(status: 'SUCCEEDED' | 'FAILED' | 'REVERSED', id: string, updated: string, amount = '100.00', fee = '1.50') {
  return {
    merchantId: 'mch_1',
    status,
    payout: { id, merchantOrderNo: `order-${id}`, amount, fee, currency: 'CNY', beneficiary: { accountNo: '6222000011112222' }, updated },
  };
}

describe('reconciliation file rendering', () => {
  it('nets each line by its effect on the settlement account and sums per currency', () => {
    const lines = [
      lineFrom(event('SUCCEEDED', 'po_a', '2026-12-03T10:00:00.000Z')),
      lineFrom(event('FAILED', 'po_b', '2026-12-03T11:00:00.000Z', '50.00', '1.50')),
      lineFrom(event('SUCCEEDED', 'po_c', '2026-12-03T09:00:00.000Z', '20.00', '0.00')),
      lineFrom(event('REVERSED', 'po_c', '2026-12-03T12:00:00.000Z', '20.00', '0.00')),
    ];
    const csv = renderFile('2026-12-03', false, lines);
    assert.equal(
      csv,
      [
        'bookedAt,type,payoutId,merchantOrderNo,beneficiaryAccount,currency,amount,fee,net,statusAt,late',
        '2026-12-03T09:00:00.000Z,PAYOUT,po_c,order-po_c,****2222,CNY,20.00,0.00,-20.00,2026-12-03T09:00:00.000Z,',
        '2026-12-03T10:00:00.000Z,PAYOUT,po_a,order-po_a,****2222,CNY,100.00,1.50,-101.50,2026-12-03T10:00:00.000Z,',
        '2026-12-03T11:00:00.000Z,FAILED,po_b,order-po_b,****2222,CNY,50.00,1.50,0.00,2026-12-03T11:00:00.000Z,',
        '2026-12-03T12:00:00.000Z,REVERSAL,po_c,order-po_c,****2222,CNY,20.00,0.00,20.00,2026-12-03T12:00:00.000Z,',
        'SUMMARY,day=2026-12-03,file=PROVISIONAL,currency=CNY,PAYOUT=2,FAILED=1,REVERSAL=1,amount=100.00,fee=1.50,net=-101.50,late=0',
        '',
      ].join('\r\n'),
    );
  });

  it('renders the same bytes for the same lines in any order, and a day without lines has a zero summary', () => {
    const a = lineFrom(event('SUCCEEDED', 'po_a', '2026-12-03T10:00:00.000Z'));
    const b = lineFrom(event('SUCCEEDED', 'po_b', '2026-12-03T10:00:00.000Z'));
    assert.equal(renderFile('2026-12-03', true, [a, b]), renderFile('2026-12-03', true, [b, a]));
    assert.match(renderFile('2026-12-04', true, []), /\r\nSUMMARY,day=2026-12-04,file=CLOSED,currency=,PAYOUT=0,FAILED=0,REVERSAL=0,amount=0,fee=0,net=0,late=0\r\n$/);
  });

  it('keeps merchant text from being read as a spreadsheet formula or breaking the columns', () => {
    const line = { ...lineFrom(event('SUCCEEDED', 'po_a', '2026-12-03T10:00:00.000Z')), merchantOrderNo: '=HYPERLINK("x"),1' };
    assert.ok(renderFile('2026-12-03', true, [line]).includes(`,"'=HYPERLINK(""x""),1",`));
  });

  it('refuses events it cannot book', () => {
    assert.throws(() => lineFrom({ ...event('SUCCEEDED', 'po_a', 'yesterday') }), /updated/);
    assert.throws(() => lineFrom({ ...event('SUCCEEDED', 'po_a', '2026-12-03T10:00:00.000Z'), status: 'ACCEPTED' as never }), /status/);
    assert.throws(() => lineFrom(event('SUCCEEDED', 'po_a', '2026-12-03T10:00:00.000Z', '1.005')));
  });
});

describe('reconciliation days', () => {
  it('accepts only real calendar days written yyyy-mm-dd', () => {
    assert.equal(parseDay('2026-02-28'), '2026-02-28');
    for (const bad of ['2026-02-30', '2026-2-3', '20261203', '2026-12-03T00:00:00Z', '1999-12-31', ' 2026-12-03']) {
      assert.throws(() => parseDay(bad), { code: 'RECONCILIATION_DATE_INVALID' } as never, bad);
    }
  });

  it('closes a day at the next midnight plus the grace, and the first open day follows', () => {
    assert.equal(closesAt('2026-12-31', 3600).toISOString(), '2027-01-01T01:00:00.000Z');
    assert.equal(nextDay('2026-12-31'), '2027-01-01');
    assert.equal(isClosedAt('2026-12-03', new Date('2026-12-04T00:59:59.999Z'), 3600), false);
    assert.equal(isClosedAt('2026-12-03', new Date('2026-12-04T01:00:00.000Z'), 3600), true);
    assert.equal(firstOpenDay(new Date('2026-12-04T00:59:59.999Z'), 3600), '2026-12-03');
    assert.equal(firstOpenDay(new Date('2026-12-04T01:00:00.000Z'), 3600), '2026-12-04');
  });
});
