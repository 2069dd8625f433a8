import { formatMinor, isCurrencyCode } from '../../platform/money/index.ts';
import type { Break, BreakType, Item, ItemVerdict, Outcome, Side, SideView } from './settlement-check.types.ts';
import { sides } from './settlement-check.types.ts';

/** Money moved (and a reversal returned it later: it moved all the same). */
function moved(view: SideView | undefined): boolean {
  return view?.status === 'SUCCEEDED' || view?.status === 'REVERSED';
}

/** NONE (the ledger moved nothing) says the same as FAILED. */
function comparable(status: Outcome): Outcome {
  return status === 'NONE' ? 'FAILED' : status;
}

export function describeSide(view: SideView | undefined): string {
  if (!view) return 'absent';
  if (view.status === 'NONE') return 'NONE';
  const amount =
    view.amountMinor === null ? '' : ` ${view.currency && isCurrencyCode(view.currency) ? formatMinor(view.amountMinor, view.currency) : `${view.amountMinor} minor`}`;
  return `${view.status}${amount}${view.currency ? ` ${view.currency}` : ''}`;
}

/** Each source's word about the item, as text (CSV cells, the console). */
export function describeAll(item: Item): { ledger: string; records: string; bank: string } {
  return { ledger: describeSide(item.ledger), records: describeSide(item.records), bank: describeSide(item.bank) };
}

/**
 * One item's verdict from its three sources (pure: no I/O, no clock but `now`).
 *
 * - MISSING_IN_RECORDS: the bank or the ledger knows an item Coffer has no record of.
 * - MISSING_AT_BANK: Coffer's record is final and money moved (record or ledger), but the bank's
 *   statement (the day and its neighbours) does not list it. A FAILED record the bank never
 *   listed, with nothing in the ledger, never reached the bank: matched.
 * - MISSING_IN_LEDGER: the record or the bank says money moved; the ledger has no transfer.
 * - AMOUNT_MISMATCH / CURRENCY_MISMATCH / STATUS_MISMATCH: the sources that know the item disagree.
 *
 * Timing: a source may simply not have heard yet (the ledger follows a record through the outbox;
 * a record follows the bank's notification). So a missing ledger movement, a source still in
 * flight, and a status disagreement are PENDING, not breaks, while the newest final time among
 * the sources is younger than `graceMs`; after that they are breaks. Amount and currency
 * disagreements, and a record or bank line missing outright, are breaks at once.
 */
export function judge(item: Item, now: Date, graceMs: number): ItemVerdict {
  const finalTimes = sides.map((side) => item[side]?.finalAt?.getTime() ?? 0);
  const inGrace = now.getTime() - Math.max(...finalTimes) < graceMs;
  const breaks: Break[] = [];
  const add = (type: BreakType, odd: Side | null, detail: string) =>
    breaks.push({
      type,
      kind: item.kind,
      businessId: item.businessId,
      odd,
      ...describeAll(item),
      detail,
    });

  if (!item.records) {
    add('MISSING_IN_RECORDS', 'records', 'The bank or the ledger has this item; Coffer has no record of it.');
  }
  if (!item.bank && item.records && item.records.status !== 'PENDING' && (moved(item.records) || moved(item.ledger))) {
    add('MISSING_AT_BANK', 'bank', "Coffer's record is final and money moved, but the bank's statement does not list it.");
  }
  const ledgerMissing = (!item.ledger || item.ledger.status === 'NONE') && (moved(item.records) || moved(item.bank));
  const status = (side: Side) => (item[side] ? comparable(item[side]!.status) : null);
  const inFlight = sides.filter((side) => item[side]?.status === 'PENDING');
  const late = ledgerMissing || inFlight.length > 0 || differs(status);
  const currency = (side: Side) => item[side]?.currency ?? null;
  const amount = (side: Side) => (item[side]?.amountMinor ?? null)?.toString() ?? null;
  if (late && inGrace && breaks.length === 0 && !differs(currency) && !differs(amount)) {
    const waiting = ledgerMissing ? 'the ledger' : inFlight.length > 0 ? inFlight.join(' and ') : 'a source';
    return { verdict: 'PENDING', reason: `Waiting for ${waiting} to hear the outcome (inside the grace period).` };
  }
  if (ledgerMissing) add('MISSING_IN_LEDGER', 'ledger', 'The record or the bank says money moved; the ledger has no transfer for it.');
  compareValues(currency, 'CURRENCY_MISMATCH', 'The sources name different currencies.', add);
  compareValues(amount, 'AMOUNT_MISMATCH', 'The sources disagree about the amount.', add);
  // A missing ledger movement is its own break, not also a disagreement about the outcome.
  if (!ledgerMissing) compareValues(status, 'STATUS_MISMATCH', 'The sources disagree about the outcome (or one is still in flight after the grace period).', add);
  return breaks.length === 0 ? { verdict: 'MATCHED' } : { verdict: 'BROKEN', breaks };
}

function differs(value: (side: Side) => string | null): boolean {
  return new Set(sides.map(value).filter((v) => v !== null)).size > 1;
}

/** One break when the sources that have a value disagree; `odd` names the one out when the other two agree. */
function compareValues(value: (side: Side) => string | null, type: BreakType, detail: string, add: (type: BreakType, odd: Side | null, detail: string) => void): void {
  const known = sides.filter((side) => value(side) !== null);
  const distinct = new Set(known.map(value));
  if (distinct.size <= 1) return;
  const odd = known.length === 3 && distinct.size === 2 ? known.find((side) => known.filter((other) => value(other) === value(side)).length === 1) : undefined;
  add(type, odd ?? null, detail);
}
