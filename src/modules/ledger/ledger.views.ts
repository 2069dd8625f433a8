import { formatMinor } from '../../platform/money/index.ts';
import { type Account, balancesOf, type Entry, type Transfer } from './ledger.types.ts';

/** How ledger objects look at the API: money as decimal strings, times as ISO-8601 UTC. */

/** An owner's account as wallets and portals show it: number, currency, balances, status. */
export function balanceSummary(account: Account) {
  const b = balancesOf(account);
  return {
    accountNo: account.accountNo,
    currency: account.currency,
    balance: formatMinor(b.balance, account.currency),
    available: formatMinor(b.available, account.currency),
    pending: formatMinor(b.pendingDebits, account.currency),
    status: account.status,
  };
}

export function accountView(account: Account) {
  const b = balancesOf(account);
  const money = (minor: bigint) => formatMinor(minor, account.currency);
  return {
    id: account.id,
    accountNo: account.accountNo,
    ownerKind: account.ownerKind,
    ownerId: account.ownerId,
    type: account.type,
    currency: account.currency,
    status: account.status,
    noOverdraft: account.noOverdraft,
    balance: money(b.balance),
    available: money(b.available),
    pendingDebits: money(b.pendingDebits),
    pendingCredits: money(b.pendingCredits),
    createdAt: account.createdAt.toISOString(),
    updatedAt: account.updatedAt.toISOString(),
  };
}

export function transferView(transfer: Transfer) {
  return {
    id: transfer.id,
    kind: transfer.kind,
    state: transfer.state,
    debitAccountId: transfer.debitAccountId,
    creditAccountId: transfer.creditAccountId,
    amount: formatMinor(transfer.amountMinor, transfer.currency),
    currency: transfer.currency,
    code: transfer.code,
    reference: transfer.reference,
    metadata: transfer.metadata,
    pendingId: transfer.pendingId,
    timeoutAt: transfer.timeoutAt?.toISOString() ?? null,
    postedAmount: transfer.postedAmountMinor === null ? null : formatMinor(transfer.postedAmountMinor, transfer.currency),
    linkedId: transfer.linkedId,
    createdAt: transfer.createdAt.toISOString(),
  };
}

export function entryView(entry: Entry) {
  const money = (minor: bigint) => formatMinor(minor, entry.currency);
  return {
    seq: entry.seq.toString(),
    transferId: entry.transferId,
    direction: entry.direction,
    amount: money(entry.amountMinor),
    balanceBefore: money(entry.balanceBeforeMinor),
    balanceAfter: money(entry.balanceAfterMinor),
    code: entry.code,
    currency: entry.currency,
    createdAt: entry.createdAt.toISOString(),
  };
}
