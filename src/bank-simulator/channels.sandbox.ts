/**
 * Sandbox state of the card payment channels, in memory like the other
 * faults: each channel UP, DOWN, SLOW, DECLINE or TIMEOUT, and its SMS
 * sending working or failing. A restart brings every channel back UP.
 */
import { type ChannelKind, type SimulatedChannelCode, simulatedChannels } from '../protocol/payment-channel.ts';
import { FaultError } from './faults.ts';

export const channelModes = ['UP', 'DOWN', 'SLOW', 'DECLINE', 'TIMEOUT'] as const;
export type ChannelMode = (typeof channelModes)[number];

export const DEFAULT_SLOW_MS = 3000;
const MAX_SLOW_MS = 600_000;

export interface ChannelState {
  code: SimulatedChannelCode;
  kind: ChannelKind;
  provider: string;
  mode: ChannelMode;
  slowMs: number;
  smsFailing: boolean;
}

export function findChannel(code: string): (typeof simulatedChannels)[number] | undefined {
  return simulatedChannels.find((c) => c.code === code);
}

export class ChannelSandbox {
  private readonly states = new Map<string, ChannelState>();

  constructor() {
    this.reset();
  }

  reset(): void {
    for (const { code, kind, provider } of simulatedChannels) {
      this.states.set(code, { code, kind, provider, mode: 'UP', slowMs: DEFAULT_SLOW_MS, smsFailing: false });
    }
  }

  view(): ChannelState[] {
    return [...this.states.values()].map((state) => ({ ...state }));
  }

  state(code: SimulatedChannelCode): ChannelState {
    return { ...this.states.get(code)! };
  }

  /** Applies a POST /sandbox/channels/{code} body; a bad field changes nothing (FaultError). */
  set(code: SimulatedChannelCode, patch: Record<string, unknown>): ChannelState {
    const known = ['mode', 'slowMs', 'smsFailing'];
    const unknown = Object.keys(patch).filter((k) => !known.includes(k));
    if (unknown.length > 0) throw new FaultError(`Unknown field ${unknown.join(', ')}; known: ${known.join(', ')}`);
    const { mode, slowMs, smsFailing } = patch;
    if (mode !== undefined && !channelModes.includes(mode as ChannelMode)) throw new FaultError(`mode must be one of ${channelModes.join(', ')}`);
    if (slowMs !== undefined && (!Number.isInteger(slowMs) || (slowMs as number) < 0 || (slowMs as number) > MAX_SLOW_MS)) {
      throw new FaultError(`slowMs must be a whole number of milliseconds from 0 to ${MAX_SLOW_MS}`);
    }
    if (smsFailing !== undefined && typeof smsFailing !== 'boolean') throw new FaultError('smsFailing must be true or false');
    const state = this.states.get(code)!;
    if (mode !== undefined) state.mode = mode as ChannelMode;
    if (slowMs !== undefined) state.slowMs = slowMs as number;
    if (smsFailing !== undefined) state.smsFailing = smsFailing;
    return { ...state };
  }
}
