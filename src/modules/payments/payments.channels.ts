/**
 * Channels as the payment flows use them: the configuration and circuit state
 * from the database (shared by every process), the routing decision (pure,
 * payments.routing.ts) recorded with its candidates, and the circuit breaker's
 * bookkeeping around each call.
 */
import type { Clock } from '../../platform/clock.ts';
import { newId } from '../../platform/ids.ts';
import type { ChannelCallOutcome, ChannelConnector } from './payments.connector.ts';
import * as repo from './payments.repository.ts';
import { route, type RoutableChannel, type RouteRequest } from './payments.routing.ts';
import type { Channel, Circuit, CircuitState, Payment } from './payments.types.ts';

export interface CircuitOptions {
  /** Channel-side failures (retryable, unreachable, no answer) within the window that open the circuit. */
  failureThreshold: number;
  windowMs: number;
  /** How long an open circuit keeps the channel out before one trial call may go through. */
  coolDownMs: number;
  /** How long the one trial owns a half-open channel (a trial that never reports back frees it after this). */
  trialMs: number;
}

/** The state a circuit is in now: an OPEN one whose cool-down is over is HALF_OPEN (its next call is the trial). */
export function circuitState(circuit: Circuit, now: Date): CircuitState {
  if (circuit.state === 'OPEN') return circuit.retryAt !== null && circuit.retryAt <= now ? 'HALF_OPEN' : 'OPEN';
  return circuit.state;
}

/** For routing: a HALF_OPEN channel whose trial is still out counts as OPEN (one trial at a time). */
function routingState(circuit: Circuit | undefined, now: Date): CircuitState {
  if (!circuit) return 'CLOSED';
  const state = circuitState(circuit, now);
  if (state === 'HALF_OPEN' && circuit.state === 'HALF_OPEN' && circuit.trialUntil !== null && circuit.trialUntil > now) return 'OPEN';
  return state;
}

export interface Decided {
  decisionId: string;
  order: string[];
  /** The circuit state each channel of the order was routed in. */
  states: Map<string, CircuitState>;
  /** Channels whose circuit was closed with no failures counted: a success there has nothing to reset. */
  clean: Set<string>;
}

export class ChannelRouter {
  constructor(
    private readonly deps: { db: repo.Executor; clock: Clock; circuit: CircuitOptions; random: () => number },
  ) {}

  async channels(): Promise<{ channel: Channel; circuit: Circuit | undefined }[]> {
    const [channels, circuits] = await Promise.all([repo.listChannels(this.deps.db), repo.listCircuits(this.deps.db)]);
    const byCode = new Map(circuits.map((c) => [c.channelCode, c]));
    return channels.map((channel) => ({ channel, circuit: byCode.get(channel.code) }));
  }

  /** Routes one step of a payment and records the decision (candidates, why each was ineligible, the order). */
  async decide(payment: Payment, step: 'SEND_SMS' | 'DEBIT', request: RouteRequest): Promise<Decided> {
    const now = this.deps.clock.now();
    const rows = await this.channels();
    const routable: RoutableChannel[] = rows.map(({ channel, circuit }) => ({ ...channel, circuit: routingState(circuit, now) }));
    const result = route(routable, request, this.deps.random);
    const decisionId = newId('rtd', now.getTime());
    await repo.insertDecision(this.deps.db, {
      id: decisionId,
      payOrderNo: payment.payOrderNo,
      method: request.method,
      step,
      candidates: result.candidates,
      order: result.order,
      chosen: result.order[0] ?? null,
      rule: result.rule,
      createdAt: now,
    });
    const clean = new Set(rows.filter(({ circuit }) => !circuit || (circuit.state === 'CLOSED' && circuit.failures === 0)).map(({ channel }) => channel.code));
    return { decisionId, order: result.order, states: new Map(routable.map((c) => [c.code, c.circuit])), clean };
  }

  /** Which channel finally took the step (null: none); FALLBACK when it was not the first of the order. */
  async settle(decided: Decided, chosen: string | null): Promise<void> {
    if (chosen === decided.order[0]) return;
    await repo.settleDecision(this.deps.db, decided.decisionId, chosen, chosen === null ? 'NONE' : 'FALLBACK');
  }

  /** May a call go to this channel now? A half-open channel lets only the process that takes its trial through. */
  async admit(decided: Decided, code: string): Promise<boolean> {
    if (decided.states.get(code) !== 'HALF_OPEN') return true;
    const now = this.deps.clock.now();
    return repo.takeTrial(this.deps.db, code, now, new Date(now.getTime() + this.deps.circuit.trialMs));
  }

  /** A success closes the circuit; skipped when the routing read just saw it clean (the happy path writes nothing). */
  async succeeded(code: string, decided?: Decided): Promise<void> {
    if (decided?.clean.has(code)) return;
    await repo.circuitSuccess(this.deps.db, code);
  }

  failed(code: string): Promise<void> {
    const { failureThreshold, windowMs, coolDownMs } = this.deps.circuit;
    return repo.circuitFailure(this.deps.db, code, this.deps.clock.now(), { threshold: failureThreshold, windowMs, coolDownMs });
  }
}

/**
 * The connector with every call's outcome reported (for metrics): `answered:<status>`, `unreachable` or `unknown`,
 * by channel and operation. The calls themselves are unchanged.
 */
export function reportingConnector(connector: ChannelConnector, report: (channel: string, operation: string, outcome: string) => void): ChannelConnector {
  const reported = <T extends { status: string }>(channel: string, operation: string, call: Promise<ChannelCallOutcome<T>>) =>
    call.then((outcome) => {
      report(channel, operation, outcome.kind === 'answered' ? `answered:${outcome.data.status}` : outcome.kind);
      return outcome;
    });
  return {
    sendSms: (channel, data) => reported(channel, 'SEND_SMS', connector.sendSms(channel, data)),
    confirm: (channel, data) => reported(channel, 'CONFIRM', connector.confirm(channel, data)),
    debit: (channel, data) => reported(channel, 'DEBIT', connector.debit(channel, data)),
    query: (channel, attemptNo) => reported(channel, 'QUERY', connector.query(channel, attemptNo)),
  };
}
