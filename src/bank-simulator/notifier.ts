import type { Logger } from 'pino';
import type { BankConfig } from './config.ts';
import type { Faults } from './faults.ts';
import {
  type Attempt,
  type BankDb,
  claimDueNotifications,
  findNotification,
  markDelivered,
  type NotificationRow,
  recordAttempts,
  releaseClaims,
} from './repository.ts';

const CLAIM_BATCH = 20;
/** A claimed notification is invisible to other senders this long; far above one HTTP time-out. */
const CLAIM_LEASE_MS = 60_000;
/** Notifications buffered for a reorder fault are sent anyway after this long. */
const REORDER_WAIT_MS = 30_000;
const RECORDED_BODY_CHARS = 500;
/** Deliveries in flight at once. */
const DELIVERY_CONCURRENCY = 8;

/** The GET Coffer receives: each value URL-encoded, reqData exactly the signed text. */
export function notificationUrl(n: Pick<NotificationRow, 'notify_url' | 'service_name' | 'platform_no' | 'signature' | 'req_data'>): string {
  const query = [
    `serviceName=${encodeURIComponent(n.service_name)}`,
    `platformNo=${encodeURIComponent(n.platform_no)}`,
    `signature=${encodeURIComponent(n.signature)}`,
    `reqData=${encodeURIComponent(n.req_data)}`,
  ].join('&');
  return `${n.notify_url}${n.notify_url.includes('?') ? '&' : '?'}${query}`;
}

/** Delivered only on a 2xx whose body, trimmed, is exactly OK. */
export function isAcknowledged(attempt: Attempt): boolean {
  return attempt.httpStatus !== null && attempt.httpStatus >= 200 && attempt.httpStatus < 300 && attempt.body.trim() === 'OK';
}

/**
 * Delivers due notifications in the background: one attempt per due row, then
 * the next attempt after the configured schedule, DEAD after the last one.
 */
export class NotificationSender {
  private timer: NodeJS.Timeout | undefined;
  private tick: Promise<void> | undefined;
  private stopped = true;
  private reorderBuffer: NotificationRow[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private reorderSince = 0;

  constructor(
    private readonly db: BankDb,
    private readonly config: BankConfig,
    private readonly faults: Faults,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.tick;
    await Promise.all(this.inFlight);
    await releaseClaims(this.db, this.reorderBuffer.map((r) => r.id));
    this.reorderBuffer = [];
  }

  /** Run soon, e.g. right after a decision whose first attempt is due at once. */
  poke(): void {
    if (!this.stopped && !this.tick) this.schedule(0);
  }

  /** Sandbox resend: one attempt now, whatever the state and faults; an OK delivers it. */
  async resend(id: string): Promise<NotificationRow | undefined> {
    const row = await findNotification(this.db, id);
    if (!row) return undefined;
    const attempt = await this.send(row);
    const updated = await recordAttempts(this.db, id, [attempt], { state: 'UNCHANGED' });
    if (isAcknowledged(attempt) && updated.state !== 'DELIVERED') await markDelivered(this.db, id);
    return findNotification(this.db, id);
  }

  /** Delay before attempt number `index` (0-based), scaled; undefined after the last. */
  delayBeforeAttemptMs(index: number): number | undefined {
    const seconds = this.config.notifyScheduleS[index];
    return seconds === undefined ? undefined : Math.round(seconds * this.config.notifyScale * 1000);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.tick = this.runOnce()
        .catch((err: unknown) => this.log.error({ err }, 'notification sender failed; retrying'))
        .finally(() => {
          this.tick = undefined;
          if (!this.stopped) this.schedule(this.config.notifyPollMs);
        });
    }, delayMs);
  }

  private async runOnce(): Promise<void> {
    if (this.faults.holding) return;
    const reordering = this.faults.reorderPending > 0 || this.reorderBuffer.length > 0;
    const free = DELIVERY_CONCURRENCY - this.inFlight.size;
    if (free <= 0) return;
    const due = await claimDueNotifications(this.db, reordering ? CLAIM_BATCH : free, CLAIM_LEASE_MS);
    const ordered = this.takeInSendingOrder(due);
    if (reordering) {
      // A reordered batch goes one by one: its order is the point of the fault.
      for (const row of ordered) await this.deliver(row);
      return;
    }
    for (const row of ordered) this.startDelivery(row);
  }

  /** Runs beside the loop, so one platform that hangs until the time-out does not hold up the rest. */
  private startDelivery(row: NotificationRow): void {
    const delivery: Promise<void> = this.deliver(row)
      .catch((err: unknown) => this.log.error({ err, notificationId: row.id }, 'delivery failed; it will be claimed again after its lease'))
      .finally(() => this.inFlight.delete(delivery));
    this.inFlight.add(delivery);
  }

  /** Applies the reorder fault: buffers the next N, then hands them back newest first. */
  private takeInSendingOrder(due: NotificationRow[]): NotificationRow[] {
    const wanted = this.faults.reorderPending;
    if (wanted === 0 && this.reorderBuffer.length === 0) return due;
    if (this.reorderBuffer.length === 0 && due.length > 0) this.reorderSince = Date.now();
    const buffered = new Set(this.reorderBuffer.map((r) => r.id));
    const fresh = due.filter((r) => !buffered.has(r.id));
    const room = Math.max(0, wanted - this.reorderBuffer.length);
    this.reorderBuffer.push(...fresh.slice(0, room));
    const passThrough = fresh.slice(room);
    const full = this.reorderBuffer.length >= wanted;
    const waitedTooLong = this.reorderBuffer.length > 0 && Date.now() - this.reorderSince > REORDER_WAIT_MS;
    if (!full && !waitedTooLong) return passThrough;
    const reversed = this.reorderBuffer.reverse();
    this.reorderBuffer = [];
    this.faults.takeReorder(reversed.length);
    return [...reversed, ...passThrough];
  }

  private async deliver(row: NotificationRow): Promise<void> {
    const attempts = await this.attemptsFor(row);
    const total = row.attempts.length + attempts.length;
    const nextDelayMs = this.delayBeforeAttemptMs(total);
    const next = attempts.some(isAcknowledged)
      ? ({ state: 'DELIVERED' } as const)
      : nextDelayMs === undefined
        ? ({ state: 'DEAD' } as const)
        : ({ state: 'PENDING', nextDelayMs } as const);
    await recordAttempts(this.db, row.id, attempts, next);
    if (next.state === 'DEAD') this.log.warn({ notificationId: row.id, requestNo: row.request_no }, 'notification dead-lettered after its last attempt');
  }

  private async attemptsFor(row: NotificationRow): Promise<Attempt[]> {
    if (this.faults.takeFailure()) {
      return [{ at: new Date().toISOString(), httpStatus: null, body: 'not sent: sandbox fault failNextNotifications' }];
    }
    const first = await this.send(row);
    if (!this.faults.takeDuplicate()) return [first];
    return [first, await this.send(row)];
  }

  private async send(row: NotificationRow): Promise<Attempt> {
    const at = new Date().toISOString();
    try {
      const response = await fetch(notificationUrl(row), {
        method: 'GET',
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.notifyTimeoutMs),
      });
      const body = (await response.text()).slice(0, RECORDED_BODY_CHARS);
      return { at, httpStatus: response.status, body };
    } catch (err) {
      const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      return { at, httpStatus: null, body: `not delivered: ${reason}`.slice(0, RECORDED_BODY_CHARS) };
    }
  }
}
