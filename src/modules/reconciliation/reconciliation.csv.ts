import { csvLine } from '../../platform/csv.ts';
import { formatMinor } from '../../platform/money/index.ts';
import { type Line, lineTypeOf, lineTypes, type LineType } from './reconciliation.types.ts';

/**
 * A day's file (RFC 4180: CRLF line ends, fields quoted only when they must be).
 * Pure: the same lines give the same bytes, which is what lets a closed day be
 * checked against its stored SHA-256.
 *
 *   bookedAt,type,payoutId,merchantOrderNo,beneficiaryAccount,currency,amount,fee,net,statusAt,late
 *   ...one line per (payout, final status), in booking order...
 *   SUMMARY,day=...,file=CLOSED|PROVISIONAL,currency=CNY,PAYOUT=n,FAILED=n,REVERSAL=n,amount=...,fee=...,net=...,late=n
 *
 * One summary line per currency (one with an empty currency and zeros when the
 * day has no lines), with as many cells as a line. In the summary, `amount` is
 * what was paid out net of reversals, `fee` the fees charged net of refunds, and
 * `net` = -(amount + fee) = the sum of the lines' net: the day's movement of the
 * settlement account.
 */
export const HEADER = ['bookedAt', 'type', 'payoutId', 'merchantOrderNo', 'beneficiaryAccount', 'currency', 'amount', 'fee', 'net', 'statusAt', 'late'];
const typeOrder: Record<LineType, number> = { PAYOUT: 0, FAILED: 1, REVERSAL: 2 };

export function renderFile(day: string, closed: boolean, lines: readonly Line[]): string {
  const sorted = [...lines].sort(
    (a, b) =>
      a.bookedAt.getTime() - b.bookedAt.getTime() ||
      compare(a.payoutId, b.payoutId) ||
      typeOrder[lineTypeOf[a.status]] - typeOrder[lineTypeOf[b.status]],
  );
  const rows = [HEADER, ...sorted.map(lineCells), ...summaryCells(day, closed, sorted)];
  return rows.map(csvLine).join('');
}

function lineCells(line: Line): string[] {
  return [
    line.bookedAt.toISOString(),
    lineTypeOf[line.status],
    line.payoutId,
    line.merchantOrderNo,
    line.beneficiaryAccount,
    line.currency,
    formatMinor(line.amountMinor, line.currency),
    formatMinor(line.feeMinor, line.currency),
    formatMinor(line.netMinor, line.currency),
    line.statusAt.toISOString(),
    line.late ? 'late' : '',
  ];
}

function summaryCells(day: string, closed: boolean, lines: readonly Line[]): string[][] {
  const file = closed ? 'CLOSED' : 'PROVISIONAL';
  if (lines.length === 0) {
    return [['SUMMARY', `day=${day}`, `file=${file}`, 'currency=', 'PAYOUT=0', 'FAILED=0', 'REVERSAL=0', 'amount=0', 'fee=0', 'net=0', 'late=0']];
  }
  const currencies = [...new Set(lines.map((l) => l.currency))].sort(compare);
  return currencies.map((currency) => {
    const mine = lines.filter((l) => l.currency === currency);
    const count = (type: LineType) => mine.filter((l) => lineTypeOf[l.status] === type).length;
    let amount = 0n;
    let fee = 0n;
    let net = 0n;
    for (const line of mine) {
      const sign = line.status === 'SUCCEEDED' ? 1n : line.status === 'REVERSED' ? -1n : 0n;
      amount += sign * line.amountMinor;
      fee += sign * line.feeMinor;
      net += line.netMinor;
    }
    // TigerBeetle-style: the summary's own invariant, asserted where it is made.
    if (net !== -(amount + fee)) throw new Error(`reconciliation summary for ${day} ${currency} does not add up`);
    return [
      'SUMMARY',
      `day=${day}`,
      `file=${file}`,
      `currency=${currency}`,
      ...lineTypes.map((type) => `${type}=${count(type)}`),
      `amount=${formatMinor(amount, currency)}`,
      `fee=${formatMinor(fee, currency)}`,
      `net=${formatMinor(net, currency)}`,
      `late=${mine.filter((l) => l.late).length}`,
    ];
  });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
