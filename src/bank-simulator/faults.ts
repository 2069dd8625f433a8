/**
 * Sandbox faults: in-memory switches that make the simulator misbehave on
 * purpose, so Coffer's retries, idempotency and status queries can be proven.
 */
export interface FaultsView {
  failNextNotifications: number;
  duplicateNextNotifications: number;
  holdNotifications: boolean;
  reorderNextNotifications: number;
  /** The card most recently declined (the contract's input name), or null. */
  declineCard: string | null;
  declinedCards: string[];
}

export class FaultError extends Error {}

const MAX_COUNT = 1_000_000;

function count(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_COUNT) {
    throw new FaultError(`${name} must be a whole number from 0 to ${MAX_COUNT}`);
  }
  return value;
}

export class Faults {
  private failNext = 0;
  private duplicateNext = 0;
  private reorderNext = 0;
  private hold = false;
  private readonly declined = new Set<string>();

  /**
   * Applies a POST /sandbox/faults body. Counts replace the current ones;
   * `declineCard` adds a card, `allowCard` (extra) removes one, `reset` (extra) clears all.
   */
  apply(patch: Record<string, unknown>): FaultsView {
    const known = ['failNextNotifications', 'duplicateNextNotifications', 'holdNotifications', 'declineCard', 'allowCard', 'reorderNextNotifications', 'reset'];
    const unknown = Object.keys(patch).filter((k) => !known.includes(k));
    if (unknown.length > 0) throw new FaultError(`Unknown fault ${unknown.join(', ')}; known: ${known.join(', ')}`);
    const next = this.validated(patch);
    if (patch.reset === true) this.clear();
    if (next.failNext !== undefined) this.failNext = next.failNext;
    if (next.duplicateNext !== undefined) this.duplicateNext = next.duplicateNext;
    if (next.reorderNext !== undefined) this.reorderNext = next.reorderNext;
    if (next.hold !== undefined) this.hold = next.hold;
    if (next.declineCard !== undefined) this.declined.add(next.declineCard);
    if (next.allowCard !== undefined) this.declined.delete(next.allowCard);
    return this.view();
  }

  private validated(patch: Record<string, unknown>) {
    const card = (value: unknown, name: string) => {
      if (typeof value !== 'string' || !/^\d{12,19}$/.test(value)) throw new FaultError(`${name} must be a card number of 12 to 19 digits`);
      return value;
    };
    if (patch.holdNotifications !== undefined && typeof patch.holdNotifications !== 'boolean') {
      throw new FaultError('holdNotifications must be true or false');
    }
    if (patch.reset !== undefined && typeof patch.reset !== 'boolean') throw new FaultError('reset must be true or false');
    return {
      failNext: patch.failNextNotifications === undefined ? undefined : count(patch.failNextNotifications, 'failNextNotifications'),
      duplicateNext: patch.duplicateNextNotifications === undefined ? undefined : count(patch.duplicateNextNotifications, 'duplicateNextNotifications'),
      reorderNext: patch.reorderNextNotifications === undefined ? undefined : count(patch.reorderNextNotifications, 'reorderNextNotifications'),
      hold: patch.holdNotifications as boolean | undefined,
      declineCard: patch.declineCard === undefined ? undefined : card(patch.declineCard, 'declineCard'),
      allowCard: patch.allowCard === undefined ? undefined : card(patch.allowCard, 'allowCard'),
    };
  }

  private clear(): void {
    this.failNext = 0;
    this.duplicateNext = 0;
    this.reorderNext = 0;
    this.hold = false;
    this.declined.clear();
  }

  view(): FaultsView {
    return {
      failNextNotifications: this.failNext,
      duplicateNextNotifications: this.duplicateNext,
      holdNotifications: this.hold,
      reorderNextNotifications: this.reorderNext,
      declineCard: [...this.declined].at(-1) ?? null,
      declinedCards: [...this.declined].sort(),
    };
  }

  get holding(): boolean {
    return this.hold;
  }

  get reorderPending(): number {
    return this.reorderNext;
  }

  isDeclined(cardNumber: string): boolean {
    return this.declined.has(cardNumber);
  }

  /** True (and one fewer left) when this delivery attempt must not be sent. */
  takeFailure(): boolean {
    if (this.failNext === 0) return false;
    this.failNext--;
    return true;
  }

  takeDuplicate(): boolean {
    if (this.duplicateNext === 0) return false;
    this.duplicateNext--;
    return true;
  }

  takeReorder(n: number): void {
    this.reorderNext = Math.max(0, this.reorderNext - n);
  }
}
