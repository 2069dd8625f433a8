/**
 * Crash points: named places between two steps of a flow where the crash suite
 * (test/faults) can cut the power. `crashPoint('payouts.after-accept-commit')`
 * costs one Map lookup when COFFER_CRASH_AT is unset. When it names the point,
 * the process kills itself with SIGKILL there, at once: no shutdown hook, no
 * flush, no rollback — exactly what a power cut or the OOM killer does.
 *
 *   COFFER_CRASH_AT=payouts.after-accept-commit:3      the 3rd time that point is passed
 *   COFFER_CRASH_AT=a.b:1,c.d:2                        whichever comes first
 *   COFFER_CRASH_AT=random:0.02:SEED                   each point passed, with probability 0.02
 *                                                      (a seeded PRNG: the same seed and the same
 *                                                      order of passes crash at the same pass)
 *
 * Before dying the process writes one line `COFFER_CRASH_POINT <name> <hit>`
 * to stderr (a synchronous write), so the harness knows where it stopped.
 */
import fs from 'node:fs';
import { seededRandom } from './random.ts';

/** Every crash point, in flow order. The harness picks from this list. */
export const CRASH_POINTS = [
  // depository: the bank's notification (wallet accounts, recharges, withdrawals)
  'depository.notification-received',
  'depository.after-settle-commit',
  // wallets: the settled event's money movement vs the record's final status; a withdrawal's hold; a card top-up saved, its SMS not sent
  'wallets.after-ledger-before-record',
  'wallets.withdraw-after-hold',
  'wallets.card-recharge-before-sms',
  // payouts: accept, dispatch, the bank's answer, final
  'payouts.after-hold',
  'payouts.after-accept-commit',
  'payouts.before-order',
  'payouts.after-order-answer',
  'payouts.after-ledger-before-final',
  'payouts.after-final-commit',
  // payout batches: a row released to payouts before the row records it
  'payout-batches.after-row-accept',
  // card payments: the confirm chain
  'payments.after-confirm-claim',
  'payments.after-channel-answer',
  'payments.after-ledger-before-final',
  // products: a wallet-paid order, a maturity
  'products.after-wallet-debit',
  'products.maturity-after-ledger',
  // the outbox relay: handlers ran, the messages not yet marked delivered
  'outbox.after-deliver-before-ack',
  // webhooks: the merchant answered, the attempt not yet recorded
  'webhooks.after-post-before-record',
] as const;

export type CrashPointName = (typeof CRASH_POINTS)[number];

type Plan = { kind: 'none' } | { kind: 'at'; hits: Map<string, number> } | { kind: 'random'; probability: number; next: () => number };

const plan: Plan = parsePlan(process.env.COFFER_CRASH_AT);
const passes = new Map<string, number>();

/** Dies here (SIGKILL) if COFFER_CRASH_AT says so; otherwise nothing. */
export function crashPoint(name: CrashPointName): void {
  if (plan.kind === 'none') return;
  const hit = (passes.get(name) ?? 0) + 1;
  passes.set(name, hit);
  const dies = plan.kind === 'at' ? plan.hits.get(name) === hit : plan.next() < plan.probability;
  if (!dies) return;
  fs.writeSync(2, `COFFER_CRASH_POINT ${name} ${hit}\n`);
  process.kill(process.pid, 'SIGKILL');
}

/** Parses COFFER_CRASH_AT; throws on a name not in CRASH_POINTS (a typo would silently test nothing). */
export function parsePlan(value: string | undefined): Plan {
  if (!value) return { kind: 'none' };
  const random = /^random:([0-9.]+):(\d+)$/.exec(value);
  if (random) return { kind: 'random', probability: Number(random[1]), next: seededRandom(Number(random[2])) };
  const hits = new Map<string, number>();
  for (const part of value.split(',')) {
    const [name, count = '1'] = part.split(':');
    if (!(CRASH_POINTS as readonly string[]).includes(name!)) throw new Error(`COFFER_CRASH_AT names no crash point: ${name}`);
    hits.set(name!, Number(count));
  }
  return { kind: 'at', hits };
}

