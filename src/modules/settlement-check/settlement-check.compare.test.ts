import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { breaksCsv } from './settlement-check.csv.ts';
import { judge } from './settlement-check.compare.ts';
import type { Item, Outcome, SideView } from './settlement-check.types.ts';

const NOW = new Date('2026-12-03T12:00:00.000Z');
const GRACE_MS = 15 * 60_000;
const LONG_AGO = new Date(NOW.getTime() - 2 * GRACE_MS);
const JUST_NOW = new Date(NOW.getTime() - 1000);

function view(status: Outcome, amountMinor: bigint | null = 10_000n, finalAt: Date | null = LONG_AGO, currency = 'CNY'): SideView {
  return { status, amountMinor, currency, finalAt };
}

function item(sides: Partial<Pick<Item, 'ledger' | 'records' | 'bank'>>): Item {
  return { kind: 'DEPOSITORY', businessId: 'REQ1', ...sides };
}

function types(it: Item, now = NOW): string[] {
  const verdict = judge(it, now, GRACE_MS);
  return verdict.verdict === 'BROKEN' ? verdict.breaks.map((b) => `${b.type}/${b.odd}`) : [verdict.verdict];
}

describe('the three-way judgement of one item', () => {
  it('matches when the three agree, and when a FAILED record never reached the bank and moved nothing', () => {
    assert.deepEqual(types(item({ ledger: view('SUCCEEDED'), records: view('SUCCEEDED'), bank: view('SUCCEEDED') })), ['MATCHED']);
    assert.deepEqual(types(item({ ledger: view('NONE', null, null), records: view('FAILED') })), ['MATCHED']);
    assert.deepEqual(types(item({ ledger: view('FAILED', null), records: view('FAILED'), bank: view('FAILED') })), ['MATCHED']);
  });

  it('names the one source that disagrees with the other two', () => {
    assert.deepEqual(types(item({ ledger: view('SUCCEEDED', 9_999n), records: view('SUCCEEDED'), bank: view('SUCCEEDED') })), ['AMOUNT_MISMATCH/ledger']);
    assert.deepEqual(types(item({ ledger: view('SUCCEEDED'), records: view('SUCCEEDED'), bank: view('SUCCEEDED', 10_000n, LONG_AGO, 'USD') })), ['CURRENCY_MISMATCH/bank']);
    assert.deepEqual(types(item({ ledger: view('SUCCEEDED'), records: view('FAILED'), bank: view('SUCCEEDED') })), ['STATUS_MISMATCH/records']);
  });

  it('reports a missing side as its own break and nothing more', () => {
    assert.deepEqual(types(item({ ledger: view('SUCCEEDED'), bank: view('SUCCEEDED') })), ['MISSING_IN_RECORDS/records']);
    assert.deepEqual(types(item({ ledger: view('SUCCEEDED'), records: view('SUCCEEDED') })), ['MISSING_AT_BANK/bank']);
    assert.deepEqual(types(item({ ledger: view('NONE', null, null), records: view('SUCCEEDED'), bank: view('SUCCEEDED') })), ['MISSING_IN_LEDGER/ledger']);
  });

  it('holds a late source as PENDING inside the grace period and breaks after it', () => {
    const inFlight = item({ ledger: view('PENDING', 10_000n, null), records: view('PENDING', 10_000n, null), bank: view('SUCCEEDED', 10_000n, JUST_NOW) });
    assert.deepEqual(types(inFlight), ['PENDING']);
    assert.deepEqual(types(inFlight, new Date(NOW.getTime() + GRACE_MS)), ['STATUS_MISMATCH/bank']);
    const ledgerLate = item({ ledger: view('NONE', null, null), records: view('SUCCEEDED', 10_000n, JUST_NOW), bank: view('SUCCEEDED', 10_000n, JUST_NOW) });
    assert.deepEqual(types(ledgerLate), ['PENDING']);
  });

  it('never waits on an amount disagreement, even inside the grace period', () => {
    const wrong = item({ ledger: view('PENDING', 10_000n, null), records: view('PENDING', 10_000n, null), bank: view('SUCCEEDED', 10_001n, JUST_NOW) });
    assert.deepEqual(types(wrong), ['AMOUNT_MISMATCH/bank', 'STATUS_MISMATCH/bank']);
  });
});

describe('the breaks CSV', () => {
  it('has a header line and one defused line per break (src/platform/csv.ts)', () => {
    const csv = breaksCsv('2026-12-03', [
      { type: 'MISSING_AT_BANK', kind: 'DEPOSITORY', businessId: '=cmd', odd: 'bank', ledger: 'SUCCEEDED 1.00 CNY', records: 'SUCCEEDED 1.00 CNY', bank: 'absent', detail: 'd' },
    ]);
    assert.equal(csv, "date,type,kind,businessId,oddSource,ledger,records,bank,detail\r\n2026-12-03,MISSING_AT_BANK,DEPOSITORY,'=cmd,bank,SUCCEEDED 1.00 CNY,SUCCEEDED 1.00 CNY,absent,d\r\n");
  });
});
