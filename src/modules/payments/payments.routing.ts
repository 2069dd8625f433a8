/**
 * Routing (SPEC 8), pure: which channels may take a payment, and in what order
 * to try them. No I/O, so it is unit-tested and benchmarked on its own.
 *
 * Eligible: enabled, of the method's kind and configured for it, the currency,
 * the card's bank (no bank list = every bank), the amount within the limits,
 * the circuit not OPEN (an OPEN circuit past its cool-down is HALF_OPEN: one
 * trial may go through), and not tried already for this payment.
 * Order: the rule first (lowest priority number), then weights among the
 * channels sharing that priority (a weighted draw from `random`, seedable),
 * then the default fallback order: the remaining eligible channels by priority,
 * then by weight (heavier first), then by code.
 */
import type { Channel, CircuitState, PaymentMethod } from './payments.types.ts';

export type IneligibleReason =
  | 'DISABLED'
  | 'METHOD_NOT_SUPPORTED'
  | 'CURRENCY_NOT_SUPPORTED'
  | 'BANK_NOT_SUPPORTED'
  | 'AMOUNT_BELOW_MIN'
  | 'AMOUNT_ABOVE_MAX'
  | 'CIRCUIT_OPEN'
  | 'ALREADY_TRIED';

export interface RoutableChannel extends Pick<Channel, 'code' | 'kind' | 'methods' | 'banks' | 'currencies' | 'minAmountMinor' | 'maxAmountMinor' | 'priority' | 'weight' | 'enabled'> {
  /** As seen now (circuitView): OPEN means still cooling down. */
  circuit: CircuitState;
}

export interface RouteRequest {
  method: PaymentMethod;
  currency: string;
  bankCode: string;
  amountMinor: bigint;
  /** Channels already tried for this payment (a fallback never goes back to them). */
  exclude?: readonly string[];
}

/** How the first channel of the order was chosen. */
export type RouteRule = 'PRIORITY' | 'WEIGHT' | 'NONE';

export interface Route {
  candidates: { code: string; eligible: boolean; reason?: IneligibleReason }[];
  /** Every eligible channel, in the order to try them. */
  order: string[];
  rule: RouteRule;
}

export function ineligibility(channel: RoutableChannel, request: RouteRequest): IneligibleReason | undefined {
  if (!channel.enabled) return 'DISABLED';
  if (channel.kind !== request.method || !channel.methods.includes(request.method)) return 'METHOD_NOT_SUPPORTED';
  if (!(channel.currencies as readonly string[]).includes(request.currency)) return 'CURRENCY_NOT_SUPPORTED';
  if (channel.banks && channel.banks.length > 0 && !channel.banks.includes(request.bankCode)) return 'BANK_NOT_SUPPORTED';
  if (request.amountMinor < channel.minAmountMinor) return 'AMOUNT_BELOW_MIN';
  if (request.amountMinor > channel.maxAmountMinor) return 'AMOUNT_ABOVE_MAX';
  if (channel.circuit === 'OPEN') return 'CIRCUIT_OPEN';
  if (request.exclude?.includes(channel.code)) return 'ALREADY_TRIED';
  return undefined;
}

export function route(channels: readonly RoutableChannel[], request: RouteRequest, random: () => number): Route {
  const candidates: Route['candidates'] = [];
  const eligible: RoutableChannel[] = [];
  for (const channel of channels) {
    const reason = ineligibility(channel, request);
    if (reason) candidates.push({ code: channel.code, eligible: false, reason });
    else {
      candidates.push({ code: channel.code, eligible: true });
      eligible.push(channel);
    }
  }
  if (eligible.length === 0) return { candidates, order: [], rule: 'NONE' };
  const fallback = [...eligible].sort(byDefaultOrder);
  const top = fallback.filter((c) => c.priority === fallback[0]!.priority);
  const first = top.length === 1 ? top[0]! : weightedPick(top, random);
  return {
    candidates,
    order: [first.code, ...fallback.filter((c) => c !== first).map((c) => c.code)],
    rule: top.length === 1 ? 'PRIORITY' : 'WEIGHT',
  };
}

function byDefaultOrder(a: RoutableChannel, b: RoutableChannel): number {
  return a.priority - b.priority || b.weight - a.weight || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0);
}

/** A draw proportional to weight; all weights zero: the first in the default order. */
function weightedPick(channels: RoutableChannel[], random: () => number): RoutableChannel {
  const total = channels.reduce((sum, c) => sum + Math.max(0, c.weight), 0);
  if (total <= 0) return channels[0]!;
  let ticket = random() * total;
  for (const channel of channels) {
    ticket -= Math.max(0, channel.weight);
    if (ticket < 0) return channel;
  }
  return channels.findLast((c) => c.weight > 0)!;
}

