/**
 * Each source's word about an item, in the check's one vocabulary (SideView).
 * Coffer's records come through the owning modules' index (never their
 * tables); the ledger's through its index, by business reference.
 */
import type { DepositoryTransaction } from '../depository/index.ts';
import type { Transfer } from '../ledger/index.ts';
import { type ChannelDebit, paymentTransferIds } from '../payments/index.ts';
import { ledgerIds, type Payout } from '../payouts/index.ts';
import { isCurrencyCode, parseMoney } from '../../platform/money/index.ts';
import type { StatementLine } from '../../protocol/statement.ts';
import type { ItemKind, Outcome, SideView } from './settlement-check.types.ts';

export function depositoryRecordView(record: DepositoryTransaction): SideView {
  return { status: record.status, amountMinor: record.amountMinor, currency: record.currency, finalAt: record.settledAt };
}

export function payoutRecordView(payout: Payout): SideView {
  const status: Outcome = payout.status === 'ACCEPTED' || payout.status === 'PROCESSING' ? 'PENDING' : payout.status;
  return { status, amountMinor: payout.amountMinor, currency: payout.currency, finalAt: status === 'PENDING' ? null : payout.updatedAt };
}

export function channelDebitRecordView(debit: ChannelDebit): SideView {
  const status: Outcome = debit.status === 'SUCCESS' ? 'SUCCEEDED' : debit.status === 'FAILED' ? 'FAILED' : 'PENDING';
  return { status, amountMinor: debit.payableMinor, currency: debit.currency, finalAt: status === 'PENDING' ? null : debit.finalAt };
}

const bankOutcomes: Record<string, Outcome> = { SUCCESS: 'SUCCEEDED', FAIL: 'FAILED', SUCCEEDED: 'SUCCEEDED', FAILED: 'FAILED', REVERSED: 'REVERSED' };

export function bankLineView(line: StatementLine): SideView {
  let amountMinor: bigint | null = null;
  if (isCurrencyCode(line.currency)) {
    try {
      amountMinor = parseMoney(line.amount, line.currency).amountMinor;
    } catch {
      amountMinor = null;
    }
  }
  // A status word the check does not know is shown as it is; it matches nothing.
  return { status: bankOutcomes[line.status] ?? (line.status as Outcome), amountMinor, currency: line.currency, finalAt: new Date(line.finalAt) };
}

/** What a two-phase hold says: open (in flight), posted (moved: how much), or voided/expired (nothing moved). */
function holdView(hold: Transfer, finalAt: Date): SideView {
  if (hold.state === 'PENDING') return { status: 'PENDING', amountMinor: hold.amountMinor, currency: hold.currency, finalAt: null };
  if (hold.state === 'POSTED') return { status: 'SUCCEEDED', amountMinor: hold.postedAmountMinor ?? hold.amountMinor, currency: hold.currency, finalAt };
  return { status: 'FAILED', amountMinor: null, currency: hold.currency, finalAt };
}

const NOTHING: SideView = { status: 'NONE', amountMinor: null, currency: null, finalAt: null };

/**
 * What the ledger moved for an item, from the transfers naming its business
 * order: recharge (a posted `recharge`), withdrawal (its amount and fee holds: posted,
 * voided or open), payout (the amount's hold; its amount reversal), card payment
 * (the payable transfer of the pay order, from the attempt's channel).
 */
export function ledgerView(kind: ItemKind, transfers: Transfer[], channel?: { payOrderNo: string; channelCode: string }): SideView {
  if (transfers.length === 0) return NOTHING;
  const lastAt = new Date(Math.max(...transfers.map((t) => t.createdAt.getTime())));
  if (kind === 'DEPOSITORY') {
    const recharge = transfers.find((t) => t.code === 'recharge' && t.kind === 'POSTED');
    if (recharge) return { status: 'SUCCEEDED', amountMinor: recharge.amountMinor, currency: recharge.currency, finalAt: recharge.createdAt };
    // A withdrawal holds amount + fee (two linked holds, both posted or voided together): the bank moves both.
    const hold = transfers.find((t) => t.code === 'withdraw' && t.kind === 'PENDING');
    const fee = transfers.find((t) => t.code === 'fee' && t.kind === 'PENDING');
    if (!hold) return NOTHING;
    const view = holdView(hold, lastAt);
    const feeView = fee ? holdView(fee, lastAt) : undefined;
    return view.amountMinor !== null && feeView?.amountMinor != null ? { ...view, amountMinor: view.amountMinor + feeView.amountMinor } : view;
  }
  if (kind === 'PAYOUT') {
    const hold = transfers.find((t) => t.code === 'payout' && t.kind === 'PENDING');
    if (!hold) return NOTHING;
    const reversal = transfers.find((t) => t.id === ledgerIds.reversal(hold.reference!, 'amount'));
    return reversal ? { status: 'REVERSED', amountMinor: reversal.amountMinor, currency: reversal.currency, finalAt: reversal.createdAt } : holdView(hold, lastAt);
  }
  const payable = channel && transfers.find((t) => t.id === paymentTransferIds.payable(channel.payOrderNo) && t.metadata?.channel === channel.channelCode);
  return payable ? { status: 'SUCCEEDED', amountMinor: payable.amountMinor, currency: payable.currency, finalAt: payable.createdAt } : NOTHING;
}
