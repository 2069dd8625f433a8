/**
 * The crash and fault harness. A rig of real processes (Coffer servers behind
 * the round-robin balancer, the bank simulator on a fixed port and its own data
 * folder), a seeded workload that drives every flow through the public HTTP
 * APIs and logs each ACKNOWLEDGED operation, fault actors that kill -9
 * processes (at random moments or at crash points), and play with the bank's
 * notifications, and a checker that, once faults stop and recovery has run,
 * proves nothing acknowledged was lost or done twice and nothing is stuck.
 *
 * Seeded: FAULT_SEED picks every random choice (which flow, which amount,
 * which process dies when, at which crash point); a failure prints the seed.
 * Timing still varies between runs (where a kill lands), so a seed replays the
 * same script of operations and faults, not the same interleaving.
 *
 * Database faults (a proxy that drops connections, a restarted server) plug in
 * as more FaultActors: the rig hands them the DATABASE_URL it gives Coffer
 * (`rig.databaseUrl`), and `options.databaseUrlForCoffer` lets a proxy sit in between.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { CRASH_POINTS } from '../../src/platform/faults.ts';
import { seededRandom } from '../../src/platform/random.ts';
import { openStore, type Store } from '../../src/platform/db/store.ts';
import { luhnValid } from '../../src/modules/payments/payments.cards.ts';
import type { GatewayRequest } from '../../src/protocol/depository.ts';
import { atTheBank, bankEnv, newCardNumber, PASSWORD as BANK_PASSWORD, platformKeys, PLATFORM_NO, registrationFields, seedBankKeys, tempDir } from '../bank-simulator/support.ts';
import { type BankChild, freePort, newMobile, startBankChild } from '../browser/support.ts';
import { ADMIN_TOKEN, Admin, MerchantClient } from '../merchants/support.ts';
import { BATCH_FEE, csvOf } from '../payout-batches/support.ts';
import { callJson } from '../support/http.ts';
import { Receiver } from '../webhooks/support.ts';
import { type CofferChild, RoundRobinBalancer, startCofferChild } from '../scale/support.ts';

// ---- randomness ------------------------------------------------------------------------------------

export class Rng {
  private readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = seededRandom(seed);
  }
  /** Uniform in [0, 1). */
  float(): number {
    return this.next();
  }
  /** A whole number in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

export function seedFromEnv(): number {
  return process.env.FAULT_SEED ? Number(process.env.FAULT_SEED) : Math.floor(Math.random() * 2 ** 31);
}

/** FAULT_TRACE=1: what recovery waits for, as it goes. */
const trace = (line: string) => process.env.FAULT_TRACE && console.log(`[faults] ${new Date().toISOString()} ${line}`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- the rig ---------------------------------------------------------------------------------------

export type StoreUnderTest = 'postgres' | 'embedded';

/** Something that breaks things during a round and puts them right before recovery. */
export interface FaultActor {
  name: string;
  /** One fault, now; answers a short label for the totals (undefined: nothing done this time). */
  strike(rig: FaultRig, rng: Rng): Promise<string | undefined>;
  /** Undoes what is still in place (a held queue, a slow link) when the round's faults stop. */
  calm?(rig: FaultRig): Promise<void>;
}

export interface RigOptions {
  store: StoreUnderTest;
  /** Coffer processes (1 on the embedded store). */
  processes: number;
  /** The PostgreSQL database (required for 'postgres'). */
  databaseUrl?: string;
  /** What Coffer is given as DATABASE_URL when it differs (a fault proxy in front of the database). */
  databaseUrlForCoffer?: string;
  env?: Record<string, string>;
}

/** Short leases and intervals: a dead process's work, and every recovery job, comes round in seconds. */
const FAST_RECOVERY: Record<string, string> = {
  LOG_LEVEL: 'warn',
  LEDGER_MONITOR_INTERVAL_S: '0',
  OUTBOX_LEASE_MS: '2000',
  OUTBOX_POLL_INTERVAL_MS: '50',
  IDEMPOTENCY_LEASE_MS: '2000',
  PAYOUT_ORDER_TIMEOUT_MS: '1000',
  PAYOUT_QUERY_AFTER_MS: '500',
  PAYOUT_REVERSAL_QUERY_AFTER_MS: '1000',
  PAYOUT_JOB_INTERVAL_MS: '100',
  PAYOUT_BATCH_LEASE_MS: '2000',
  PAYOUT_ORPHAN_HOLD_AFTER_S: '5',
  WEBHOOK_TIMEOUT_MS: '1000',
  WEBHOOK_POLL_INTERVAL_MS: '100',
  WEBHOOK_RETRY_BASE_MS: '300',
  DEPOSITORY_QUERY_AFTER_S: '1',
  DEPOSITORY_QUERY_INTERVAL_MS: '300',
  // A request the user never confirmed at the bank (the bank was down) expires and fails soon.
  DEPOSITORY_REQUEST_TTL_S: '20',
  DEPOSITORY_EXPIRY_GRACE_S: '1',
  DEPOSITORY_ORPHAN_HOLD_AFTER_S: '5',
  PRODUCT_WALLET_RECOVERY_AFTER_S: '3',
  PRODUCT_JOB_INTERVAL_MS: '200',
  // A card order nobody pays (its SMS step failed mid-fault) is cancelled soon.
  PRODUCT_UNPAID_EXPIRY_MINUTES: '1',
  CLOCK_REFRESH_MS: '200',
  USER_SESSION_TTL_S: String(366 * 86_400),
  PAYMENT_CONFIRM_LEASE_MS: '3000',
  PAYMENT_QUERY_RETRY_MS: '300',
  PAYMENT_JOB_INTERVAL_MS: '100',
  SMS_CODE_TTL_S: '10',
  WITHDRAW_FEE: '2.00',
};

const BANK_KNOBS: Record<string, string> = {
  LOG_LEVEL: 'warn',
  BANK_NOTIFY_POLL_MS: '20',
  // A bank retries its notifications for hours; here for about two minutes, longer than a restart on a busy machine.
  BANK_NOTIFY_SCHEDULE_S: '0,1,2,4,8,15,30,60',
  BANK_NOTIFY_SCALE: '1',
  BANK_DEMO_CARD_BALANCE: '10000000.00',
  BANK_PAYOUT_DELAY_MS: '100',
  BANK_PAYOUT_REVERSAL_MS: '400',
  BANK_PAYOUT_HANG_MS: '1500',
  BANK_PAYOUT_POLL_MS: '20',
};

export class FaultRig {
  readonly dir = tempDir('faults');
  readonly balancer: RoundRobinBalancer;
  readonly receiver = new Receiver();
  /** One slot per Coffer process; a slot is restarted in place. */
  readonly slots: (CofferChild | undefined)[];
  bank: BankChild | undefined;
  bankUrl = '';
  private bankPort = 0;
  private cofferEnv: Record<string, string> = {};
  private booksStore: Store | undefined;
  private started = 0;
  /** Every Coffer's output, the dead ones' too (for a failure's report). */
  private readonly outputs: string[] = [];

  constructor(readonly options: RigOptions) {
    this.slots = Array.from({ length: options.processes }, () => undefined);
    this.balancer = new RoundRobinBalancer(() => this.slots.filter((p) => p?.alive()).map((p) => p!.url));
  }

  get admin(): Admin {
    return new Admin(this.balancer.url);
  }

  get url(): string {
    return this.balancer.url;
  }

  get databaseUrl(): string | undefined {
    return this.options.databaseUrl;
  }

  async start(): Promise<void> {
    const platform = platformKeys(this.dir);
    seedBankKeys(this.dir);
    await this.receiver.start();
    await this.balancer.start();
    this.bankPort = await freePort();
    this.bankUrl = `http://127.0.0.1:${this.bankPort}`;
    this.bankEnvironment = bankEnv(this.dir, platform, { ...BANK_KNOBS, BANK_PORT: String(this.bankPort), PUBLIC_URL: this.balancer.url });
    await this.restartBank();
    this.cofferEnv = {
      ...(this.options.store === 'postgres' ? { DATABASE_URL: this.options.databaseUrlForCoffer ?? this.options.databaseUrl!, DATABASE_POOL_SIZE: '5' } : {}),
      DATA_DIR: path.join(this.dir, 'coffer'),
      PUBLIC_URL: this.balancer.url,
      ADMIN_TOKEN,
      PLATFORM_NO,
      KEYS_DIR: path.dirname(platform.publicKeyPath),
      BANK_URL: this.bankUrl,
      BANK_PUBLIC_URL: this.bankUrl,
      BANK_PUBLIC_KEY_PATH: path.join(this.dir, 'bank', 'keys', 'bank-public.pem'),
      MERCHANT_SECRETS_KEY: randomBytes(32).toString('base64'),
      ...FAST_RECOVERY,
      ...this.options.env,
    };
    // All at once: they also race to migrate the empty database.
    await Promise.all(this.slots.map((_, slot) => this.restartCoffer(slot)));
  }

  private bankEnvironment: Record<string, string> = {};

  async stop(): Promise<void> {
    await this.booksStore?.close();
    await Promise.all(this.slots.map((p) => p?.stop()));
    await this.bank?.stop();
    await this.balancer.stop();
    await this.receiver.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Starts the process of `slot` (after a kill, on the same data); `crashAt` is its COFFER_CRASH_AT. */
  async restartCoffer(slot: number, crashAt?: string): Promise<CofferChild> {
    const old = this.slots[slot];
    if (old?.alive()) await old.kill();
    if (old) this.outputs.push(`--- ${old.name}\n${old.output()}`);
    const name = `coffer-${slot}-${++this.started}`;
    const env = { ...this.cofferEnv, ...(crashAt ? { COFFER_CRASH_AT: crashAt } : {}) };
    // On a starved machine a start can outlast startCofferChild's 120 s (a fresh embedded store migrating): once more.
    const child = await startCofferChild(name, env).catch(() => startCofferChild(`${name}-again`, env));
    this.slots[slot] = child;
    this.armed[slot] = crashAt !== undefined;
    return child;
  }

  async killCoffer(slot: number): Promise<void> {
    await this.slots[slot]?.kill();
  }

  private readonly busy = new Set<string>();
  /** Slots whose process runs with a crash point armed. */
  private readonly armed: boolean[] = [];

  /** Runs `work` on `resource` (a process) unless another fault is at it already (then nothing, undefined). */
  async exclusive<T>(resource: string, work: () => Promise<T>): Promise<T | undefined> {
    if (this.busy.has(resource)) return undefined;
    this.busy.add(resource);
    try {
      return await work();
    } finally {
      this.busy.delete(resource);
    }
  }

  /** What a supervisor (systemd, Kubernetes) does: a Coffer that died (at a crash point) is started again. */
  async supervise(): Promise<number> {
    const dead = this.slots.map((p, slot) => (p?.alive() ? -1 : slot)).filter((slot) => slot >= 0);
    const restarted = await Promise.all(dead.map((slot) => this.exclusive(`coffer-${slot}`, () => this.restartCoffer(slot))));
    return restarted.filter(Boolean).length;
  }

  /** Every dead Coffer, and every one armed with a crash point, started again without one (recovery runs clean). */
  async restartDead(): Promise<number> {
    const dead = this.slots.map((p, slot) => (p?.alive() && !this.armed[slot] ? -1 : slot)).filter((slot) => slot >= 0);
    await Promise.all(dead.map((slot) => this.restartCoffer(slot)));
    return dead.length;
  }

  /** Crash points each process died at, read from the outputs (`COFFER_CRASH_POINT name hit`). */
  crashPointsHit(): string[] {
    const all = [...this.outputs, ...this.slots.map((p) => p?.output() ?? '')].join('\n');
    return [...all.matchAll(/COFFER_CRASH_POINT (\S+) \d+/g)].map((m) => m[1]!);
  }

  async killBank(): Promise<void> {
    await this.bank?.kill();
  }

  async restartBank(): Promise<void> {
    if (this.bank) await this.bank.kill();
    // On a starved machine a start can outlast startBankChild's 90 s: try again before giving up.
    for (let attempt = 1; ; attempt++) {
      try {
        this.bank = await startBankChild(this.bankEnvironment);
        return;
      } catch (err) {
        if (attempt === 3) throw err;
      }
    }
  }

  async bankAlive(): Promise<boolean> {
    return fetch(`${this.bankUrl}/sandbox/faults`).then(
      (r) => r.ok,
      () => false,
    );
  }

  async bankSandbox<T = unknown>(method: 'GET' | 'POST', route: string, body?: unknown): Promise<T | undefined> {
    const response = await fetch(`${this.bankUrl}${route}`, {
      method,
      ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
    }).catch(() => undefined);
    if (!response?.ok) return undefined;
    return (await response.json()) as T;
  }

  /**
   * Runs `check` on Coffer's database. PostgreSQL: beside the running processes.
   * Embedded: the one process is killed with SIGKILL first (the folder is one
   * process's), the folder opened here, then the process started again — so
   * every check on the embedded store also proves what survives a kill -9.
   */
  async withBooks<T>(check: (db: Kysely<any>) => Promise<T>): Promise<T> {
    if (this.options.store === 'postgres') {
      this.booksStore ??= await openStore({ databaseUrl: this.options.databaseUrl!, poolSize: 2 });
      return check(this.booksStore.db);
    }
    await Promise.all(this.slots.map((p) => p?.kill()));
    const store = await openStore({ dataDir: this.cofferEnv.DATA_DIR! });
    try {
      return await check(store.db);
    } finally {
      await store.close();
      await this.restartDead();
    }
  }

  output(): string {
    return [...this.outputs, ...this.slots.map((p) => `--- ${p?.name}\n${p?.output() ?? ''}`), `--- bank\n${this.bank?.output() ?? ''}`].join('\n').slice(-20_000);
  }
}

// ---- the workload ----------------------------------------------------------------------------------

const CALLBACK_URL = 'http://localhost/ui/records';
const USER_PASSWORD = 'Faults-pass-1';

/** The sandbox beneficiaries (SPEC 5) and where each payout ends. */
export const BENEFICIARIES = [
  { accountNo: '6222000011112222', final: 'SUCCEEDED' },
  { accountNo: '6222000011110002', final: 'FAILED' },
  { accountNo: '6222000011110003', final: 'REVERSED' },
  { accountNo: '6222000011110004', final: 'SUCCEEDED' }, // the bank hangs, then pays
] as const;

const WITHDRAW_FEE_MINOR = 200n; // WITHDRAW_FEE below
/** A subscription whose money is in (or back from) the product. */
const HELD_OR_SETTLED = ['PAID', 'VALUE', 'MATURED', 'SETTLED'];

/** One acknowledged operation: Coffer answered 2xx with its id. `user` is the user's wallet account number. */
export type Acked =
  | { kind: 'recharge'; user: string; requestNo: string; amountMinor: bigint; confirmedAtBank: boolean | undefined }
  | { kind: 'withdraw'; user: string; requestNo: string; amountMinor: bigint; confirmedAtBank: boolean | undefined }
  | { kind: 'payout'; merchant: string; id: string; amountMinor: bigint; expected: string }
  | { kind: 'batch'; merchant: string; id: string; rows: number; approved: boolean }
  | { kind: 'subscription'; user: string; id: string; amountMinor: bigint }
  /** A product bought by card: `paid` is what the confirm answered (SUCCESS, FAIL, or unknown). */
  | { kind: 'card-subscription'; user: string; id: string; payOrderNo: string; paid: 'SUCCESS' | 'FAIL' | undefined }
  /** A wallet top-up by card: its transaction order, and what the confirm answered. */
  | { kind: 'card-recharge'; user: string; id: string; payOrderNo: string; amountMinor: bigint; paid: 'SUCCESS' | 'FAIL' | undefined };

interface User {
  token: string;
  /** Its CNY wallet's ledger account number (whose balance the checker adds up). */
  accountNo: string;
  mobile: string;
  /** Its USD wallet's account number, once opened (card top-ups go there: CNY money is held at the depository bank). */
  usdAccountNo?: string;
  /** Its payment card's id, once added; one card payment at a time (the channel's SMS is found by mobile). */
  cardId?: string;
  paying?: boolean;
  /** When its withdrawals were made (the seeded risk rules review a 5th within 10 minutes). */
  withdrawals: number[];
}

interface Merchant {
  id: string;
  maker: MerchantClient;
  checker: MerchantClient;
  fundedMinor: bigint;
}

/** A request answered definitively (2xx or 4xx) after retries through kills, or undefined when it never was. */
type Answer = { status: number; body: any } | undefined;

/**
 * Random operations across the flows, each sent like a careful client does:
 * with an Idempotency-Key, again on a 5xx or a lost connection (the process it
 * reached died), until Coffer answers 2xx (acknowledged: logged) or 4xx
 * (refused: nothing may have changed).
 */
export class Workload {
  readonly acked: Acked[] = [];
  readonly refused: { op: string; status: number; code: string }[] = [];
  unanswered = 0;
  /** Every Idempotency-Key the workload sent. */
  readonly keysSent = new Set<string>();
  readonly users: User[] = [];
  readonly merchants: Merchant[] = [];
  productId = '';
  private seq = 0;

  constructor(
    private readonly rig: FaultRig,
    private readonly rng: Rng,
  ) {}

  /** A product on the shelf, a few users with open accounts and a funded merchant (before faults start: users are slow to make). */
  async prepare(users = 3): Promise<void> {
    const product = await this.rig.admin.ok<{ id: string }>('POST', '/admin/products', {
      code: `FLT${Date.now().toString(36).toUpperCase()}`,
      name: 'Fault suite note',
      currency: 'CNY',
      annualRate: '3.65',
      termDays: 90,
      minAmount: '100.00',
      stepAmount: '100.00',
      totalAmount: '100000000.00',
      dayCount: 'ACT/365',
      acceptorBank: 'ICBC Shanghai',
    });
    await this.rig.admin.ok('POST', `/admin/products/${product.id}/shelf`, { onShelf: true }, 200);
    this.productId = product.id;
    await Promise.all([...Array.from({ length: users }, () => this.newUser()), this.newMerchant()]);
  }

  /** Runs `workers` loops of random operations until `until` says stop. */
  async run(workers: number, stop: () => boolean): Promise<void> {
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (!stop()) await this.step();
      }),
    );
  }

  private async step(): Promise<void> {
    const roll = this.rng.float();
    if (this.users.length === 0 || roll < 0.03) return this.newUser();
    if (this.merchants.length === 0 || roll < 0.04) return this.newMerchant();
    if (roll < 0.3) return this.recharge(this.rng.pick(this.users));
    if (roll < 0.45) return this.withdraw(this.rng.pick(this.users));
    if (roll < 0.7) return this.payout(this.rng.pick(this.merchants));
    if (roll < 0.8) return this.batch(this.rng.pick(this.merchants));
    if (roll < 0.88) return this.subscribe(this.rng.pick(this.users));
    if (roll < 0.94) return this.cardSubscribe(this.rng.pick(this.users));
    return this.cardRecharge(this.rng.pick(this.users));
  }

  private key(prefix: string): string {
    const key = `${prefix}-${this.rng.seed}-${++this.seq}-${randomBytes(3).toString('hex')}`;
    this.keysSent.add(key);
    return key;
  }

  /** Sends until a definitive answer (2xx/4xx), at most `budgetMs`. */
  private async send(send: () => Promise<{ status: number; body: any }>, budgetMs = 90_000): Promise<Answer> {
    const deadline = Date.now() + budgetMs;
    for (;;) {
      const answer = await send().catch(() => undefined);
      // IDEMPOTENCY_KEY_IN_USE: the first try is still in flight, or its process died (its lease runs out).
      if (answer && answer.status < 500 && answer.body?.code !== 'IDEMPOTENCY_KEY_IN_USE') return answer;
      if (Date.now() > deadline) {
        this.unanswered += 1;
        return undefined;
      }
      await sleep(200);
    }
  }

  private userCall(user: { token?: string }, method: string, route: string, body?: unknown, idempotencyKey?: string): Promise<{ status: number; body: any }> {
    return fetch(`${this.rig.url}${route}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(user.token ? { authorization: `Bearer ${user.token}` } : {}),
        ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    }).then(async (response) => {
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // a balancer's plain-text 502/503
      }
      return { status: response.status, body: parsed };
    });
  }

  private refuse(op: string, answer: Answer): void {
    if (answer) this.refused.push({ op, status: answer.status, code: String(answer.body?.code ?? '') });
  }

  /** Registers, logs in, and opens the depository account on the bank's hosted page (when the bank is up). */
  async newUser(): Promise<void> {
    const mobile = newMobile();
    const registered = await this.send(() => callJson(`${this.rig.url}/auth/register`, 'POST', { mobile, password: USER_PASSWORD }));
    if (registered?.status !== 201 && registered?.status !== 409) return this.refuse('register', registered);
    const login = await this.send(() => callJson(`${this.rig.url}/auth/login`, 'POST', { mobile, password: USER_PASSWORD }));
    if (login?.status !== 200) return this.refuse('login', login);
    const user: User = { token: login.body.token as string, accountNo: '', mobile, withdrawals: [] };
    const openKey = this.key('open');
    const opening = await this.send(() => this.userCall(user, 'POST', '/my/depository-accounts', { callbackUrl: CALLBACK_URL }, openKey));
    if (opening?.status !== 201) return this.refuse('open-account', opening);
    if (!(await atTheBank(opening.body as GatewayRequest, registrationFields(newCardNumber())).then(() => true, () => false))) return;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const wallets = await this.userCall(user, 'GET', '/my/wallets').catch(() => undefined);
      if (wallets?.status === 200 && wallets.body.length > 0) {
        user.accountNo = wallets.body[0].accountNo as string;
        this.users.push(user);
        return;
      }
      await sleep(200);
    }
  }

  async newMerchant(): Promise<void> {
    const fundedMinor = 100_000_000n;
    const merchantKey = this.key('merchant');
    const made = await this.setupCall(() =>
      this.rig.admin.request<{ merchantId: string }>('POST', '/admin/merchants', {
        name: 'Fault Payroll Ltd',
        products: ['PAYOUT_SINGLE', 'PAYOUT_BATCH'],
        fees: [{ product: 'PAYOUT_SINGLE', currency: 'CNY', fixed: '1.00', rateBp: 50, min: '1.50' }, BATCH_FEE],
      }, { 'idempotency-key': merchantKey }),
    );
    if (!made) return;
    const id = made.merchantId;
    if (!(await this.setupCall(() => this.rig.admin.request('POST', `/admin/merchants/${id}/activate`)))) return;
    const maker = await this.setupCall(() => this.rig.admin.request<{ keyId: string; secret: string }>('POST', `/admin/merchants/${id}/api-keys`, {}));
    const checker = await this.setupCall(() => this.rig.admin.request<{ keyId: string; secret: string }>('POST', `/admin/merchants/${id}/api-keys`, { role: 'checker' }));
    if (!maker || !checker) return;
    const funding = this.key('fund');
    const funded = await this.setupCall(() =>
      this.rig.admin.request('POST', `/admin/merchants/${id}/adjustments`, { amount: '1000000.00', currency: 'CNY', reason: 'fault suite funding' }, { 'idempotency-key': funding }),
    );
    if (!funded) return;
    const merchant = { id, maker: new MerchantClient(this.rig.url, maker.keyId, maker.secret), checker: new MerchantClient(this.rig.url, checker.keyId, checker.secret), fundedMinor };
    const hookPath = `/hooks/${id}`;
    const hookKey = this.key('hook');
    const endpoint = await this.setupCall(() =>
      merchant.maker.request('POST', '/v1/webhook-endpoints', { body: JSON.stringify({ url: this.rig.receiver.url(hookPath) }), headers: { 'idempotency-key': hookKey } }),
    );
    if (!endpoint) return;
    this.merchants.push(merchant);
  }

  /** Admin and merchant set-up calls: retried through kills; answers the 2xx body. */
  private async setupCall<T>(call: () => Promise<{ status: number; body: T }>): Promise<T | undefined> {
    const answer = await this.send(call as () => Promise<{ status: number; body: any }>);
    if (answer && answer.status < 300) return answer.body as T;
    this.refuse('setup', answer);
    return undefined;
  }

  private amount(minUnits: number, maxUnits: number): { text: string; minor: bigint } {
    const units = this.rng.int(minUnits, maxUnits);
    return { text: `${units}.00`, minor: BigInt(units) * 100n };
  }

  async recharge(user: User, confirm = this.rng.chance(0.9)): Promise<void> {
    const amount = this.amount(100, 900);
    const key = this.key('rch');
    const answer = await this.send(() => this.userCall(user, 'POST', '/my/recharge-records', { amount: amount.text, callbackUrl: CALLBACK_URL }, key));
    if (answer?.status !== 201) return this.refuse('recharge', answer);
    const gateway = answer.body as GatewayRequest;
    const op: Acked = { kind: 'recharge', user: user.accountNo, requestNo: requestNoOf(gateway), amountMinor: amount.minor, confirmedAtBank: false };
    this.acked.push(op);
    // Most users confirm at the bank; some walk away (the record must expire and fail).
    if (confirm) op.confirmedAtBank = await confirmAtBank(gateway);
  }

  async withdraw(user: User): Promise<void> {
    // The seeded risk rules send a 5th withdrawal within 10 minutes, or a 10th in a day, to review: stay under them.
    const recent = user.withdrawals.filter((at) => at > Date.now() - 11 * 60_000);
    if (recent.length >= 3 || user.withdrawals.length >= 8) return this.recharge(user);
    user.withdrawals.push(Date.now());
    const amount = this.amount(1, 50);
    const key = this.key('wdr');
    const answer = await this.send(() => this.userCall(user, 'POST', '/my/withdraw-records', { amount: amount.text, callbackUrl: CALLBACK_URL }, key));
    if (answer?.status !== 201) return this.refuse('withdraw', answer);
    const gateway = answer.body as GatewayRequest;
    const op: Acked = { kind: 'withdraw', user: user.accountNo, requestNo: requestNoOf(gateway), amountMinor: amount.minor, confirmedAtBank: false };
    this.acked.push(op);
    if (this.rng.chance(0.9)) op.confirmedAtBank = await confirmAtBank(gateway);
  }

  async payout(merchant: Merchant, beneficiary = this.rng.pick(BENEFICIARIES)): Promise<void> {
    const amount = this.amount(1, 200);
    const body = JSON.stringify({ merchantOrderNo: this.key('PO'), amount: amount.text, currency: 'CNY', beneficiary: { name: 'Li Lei', accountNo: beneficiary.accountNo, bankCode: 'ICBC' } });
    const idempotencyKey = this.key('idem');
    const answer = await this.send(() => merchant.maker.request('POST', '/v1/payouts', { body, headers: { 'idempotency-key': idempotencyKey } }));
    // A duplicate order number names the payout an earlier try made (its answer was lost with its process).
    const id = answer?.status === 202 ? answer.body.id : answer?.status === 409 && answer.body?.code === 'DUPLICATE_MERCHANT_ORDER_NO' ? answer.body.payoutId : undefined;
    if (typeof id !== 'string') return this.refuse('payout', answer);
    this.acked.push({ kind: 'payout', merchant: merchant.id, id, amountMinor: amount.minor, expected: beneficiary.final });
  }

  async batch(merchant: Merchant): Promise<void> {
    const rows = Array.from({ length: this.rng.int(2, 5) }, () => {
      const beneficiary = this.rng.pick(BENEFICIARIES);
      return `${this.key('BR')},${this.amount(1, 100).text},CNY,Li Lei,${beneficiary.accountNo},ICBC,`;
    });
    const csv = csvOf(rows);
    const uploadKey = this.key('upload');
    const uploaded = await this.send(() => merchant.maker.request('POST', '/v1/payout-batches', { body: csv, contentType: 'text/csv', headers: { 'idempotency-key': uploadKey } }));
    if (uploaded?.status !== 201) return this.refuse('batch-upload', uploaded);
    const op: Acked = { kind: 'batch', merchant: merchant.id, id: uploaded.body.id as string, rows: rows.length, approved: false };
    this.acked.push(op);
    const approveKey = this.key('approve');
    const approved = await this.send(() => merchant.checker.request('POST', `/v1/payout-batches/${op.id}/approve`, { body: '{}', headers: { 'idempotency-key': approveKey } }));
    if (approved?.status === 200) op.approved = true;
    else this.refuse('batch-approve', approved);
  }

  async subscribe(user: User): Promise<void> {
    const amount = this.amount(1, 3);
    const text = `${Number(amount.text) * 100}.00`;
    const key = this.key('sub');
    const answer = await this.send(() => this.userCall(user, 'POST', '/my/subscriptions', { productId: this.productId, amount: text, payWith: 'WALLET' }, key));
    if (answer?.status !== 201) return this.refuse('subscribe', answer);
    this.acked.push({ kind: 'subscription', user: user.accountNo, id: answer.body.id as string, amountMinor: amount.minor * 100n });
  }

  /** A product bought by card: the order, the card's SMS (the channel's code, or Coffer's for a direct debit), the confirm. */
  async cardSubscribe(user: User): Promise<void> {
    if (user.paying) return this.subscribe(user);
    user.paying = true;
    try {
      if (!(await this.ensureCard(user))) return;
      const orderKey = this.key('csub');
      const ordered = await this.send(() => this.userCall(user, 'POST', '/my/subscriptions', { productId: this.productId, amount: '100.00', payWith: 'CARD' }, orderKey));
      if (ordered?.status !== 201) return this.refuse('card-subscribe', ordered);
      const op: Acked = { kind: 'card-subscription', user: user.accountNo, id: ordered.body.id as string, payOrderNo: ordered.body.payOrderNo as string, paid: undefined };
      this.acked.push(op);
      const smsKey = this.key('sms');
      const texted = await this.send(() => this.userCall(user, 'POST', `/my/payments/${op.payOrderNo}/sms`, { cardId: user.cardId }, smsKey));
      if (texted?.status !== 200) return this.refuse('payment-sms', texted);
      op.paid = await this.confirmPayment(user, op.payOrderNo, texted.body.method as string);
    } finally {
      user.paying = false;
    }
  }

  /**
   * A USD wallet top-up by card (CNY is the depository's currency: its money is held at the bank,
   * which a card payment does not reach). The answer has the SMS step done, then the confirm.
   */
  async cardRecharge(user: User): Promise<void> {
    if (user.paying) return this.recharge(user);
    user.paying = true;
    try {
      if (!(await this.ensureCard(user)) || !(await this.ensureUsdWallet(user))) return;
      const amount = this.amount(10, 300);
      const key = this.key('crch');
      const answer = await this.send(() => this.userCall(user, 'POST', '/my/card-recharges', { amount: amount.text, currency: 'USD', cardId: user.cardId }, key));
      if (answer?.status !== 201) return this.refuse('card-recharge', answer);
      const { order, payment } = answer.body as { order: { id: string }; payment: { payOrderNo: string; method: string; step: string } };
      const op: Acked = { kind: 'card-recharge', user: user.usdAccountNo!, id: order.id, payOrderNo: payment.payOrderNo, amountMinor: amount.minor, paid: undefined };
      this.acked.push(op);
      if (payment.step === 'SMS_SENT') op.paid = await this.confirmPayment(user, op.payOrderNo, payment.method);
    } finally {
      user.paying = false;
    }
  }

  /** The user's USD wallet, opened once: false when opening it was refused. */
  private async ensureUsdWallet(user: User): Promise<boolean> {
    if (user.usdAccountNo) return true;
    const key = this.key('usd');
    const opened = await this.send(() => this.userCall(user, 'POST', '/my/accounts', { type: 'WALLET', currency: 'USD' }, key));
    // ACCOUNT_ALREADY_EXISTS: a retry after the answer to the first was lost.
    if (opened?.status !== 201 && opened?.body?.code !== 'ACCOUNT_ALREADY_EXISTS') {
      this.refuse('open-usd-wallet', opened);
      return false;
    }
    const listed = await this.send(() => this.userCall(user, 'GET', '/my/accounts?type=WALLET&currency=USD'));
    user.usdAccountNo = listed?.status === 200 ? (listed.body[0]?.accountNo as string | undefined) : undefined;
    return user.usdAccountNo !== undefined;
  }

  /** The user's payment card, added once: false when adding it was refused. */
  private async ensureCard(user: User): Promise<boolean> {
    if (user.cardId) return true;
    const cardBody = { cardNumber: luhnCard(this.rng), holderName: 'Li Lei', mobile: user.mobile, bankCode: 'ICBC' };
    const cardKey = this.key('card');
    const card = await this.send(() => this.userCall(user, 'POST', '/my/payment-cards', cardBody, cardKey));
    if (card?.status !== 201) {
      this.refuse('add-card', card);
      return false;
    }
    user.cardId = card.body.id as string;
    return true;
  }

  /** The SMS code typed in: what the confirm answered (SUCCESS, FAIL), or undefined when that is unknown. */
  private async confirmPayment(user: User, payOrderNo: string, method: string): Promise<'SUCCESS' | 'FAIL' | undefined> {
    const code = await this.smsCode(user.mobile, method);
    if (!code) return undefined;
    const confirmKey = this.key('confirm');
    const confirmed = await this.send(() => this.userCall(user, 'POST', `/my/payments/${payOrderNo}/confirm`, { smsCode: code }, confirmKey));
    if (confirmed?.status !== 200) {
      this.refuse('payment-confirm', confirmed);
      return undefined;
    }
    return confirmed.body.status === 'SUCCESS' || confirmed.body.status === 'FAIL' ? confirmed.body.status : undefined;
  }

  /** The newest code texted to `mobile`: by the quick-pay channel (the bank's sink) or by Coffer (a direct debit). */
  private async smsCode(mobile: string, method: string): Promise<string | undefined> {
    if (method === 'QUICK_PAY') return (await this.rig.bankSandbox<{ code: string }[]>('GET', `/sandbox/channel-sms?mobile=${mobile}`))?.[0]?.code;
    const sink = await this.rig.admin.request<{ data: { text: string }[] }>('GET', `/sandbox/sms?mobile=${mobile}`).catch(() => undefined);
    return /\b(\d{6})\b/.exec(sink?.body.data?.[0]?.text ?? '')?.[1];
  }

  merchantIds(): string[] {
    return this.merchants.map((m) => m.id);
  }
}

/** A Luhn-valid card number the sandbox channels debit (it does not end in a declining suffix). */
function luhnCard(rng: Rng): string {
  const body = `622202${String(rng.int(0, 99_999)).padStart(5, '0')}`;
  for (let digit = 0; digit <= 9; digit++) if (luhnValid(`${body}${digit}4242`)) return `${body}${digit}4242`;
  throw new Error('no Luhn-valid number');
}

function requestNoOf(gateway: GatewayRequest): string {
  return (JSON.parse(gateway.reqData) as { requestNo: string }).requestNo;
}

/** The user types the bank password on the bank's page: true when the bank redirected back (it took it). */
async function confirmAtBank(gateway: GatewayRequest): Promise<boolean | undefined> {
  return atTheBank(gateway, { password: BANK_PASSWORD }).then(
    () => true,
    // The bank died or refused mid-page: whether it took the confirmation is unknown.
    () => undefined,
  );
}

// ---- fault actors ----------------------------------------------------------------------------------

/** kill -9 of a random Coffer process at a random moment; restarted after a short pause. */
export const killCoffer: FaultActor = {
  name: 'kill-coffer',
  async strike(rig, rng) {
    const slot = rng.int(0, rig.slots.length - 1);
    const pauseMs = rng.int(100, 1500);
    return rig.exclusive(`coffer-${slot}`, async () => {
      if (!rig.slots[slot]?.alive()) return undefined;
      await rig.killCoffer(slot);
      await sleep(pauseMs);
      await rig.restartCoffer(slot);
      return 'kill-coffer';
    });
  },
};

/**
 * A random Coffer process restarted to die at a crash point: a named one (its 1st-3rd pass), or,
 * half the time, whichever point it passes when a seeded 3 % draw says so (the busy points come first).
 */
export const crashAtPoint: FaultActor = {
  name: 'crash-point',
  async strike(rig, rng) {
    const slot = rng.int(0, rig.slots.length - 1);
    const crashAt = rng.chance(0.5) ? `${rng.pick(CRASH_POINTS)}:${rng.int(1, 3)}` : `random:0.03:${rng.int(1, 2 ** 30)}`;
    return rig.exclusive(`coffer-${slot}`, async () => {
      await rig.restartCoffer(slot, crashAt);
      return 'arm-crash-point';
    });
  },
};

/** kill -9 of the bank simulator; restarted on the same data folder and port after a pause. */
export const killBank: FaultActor = {
  name: 'kill-bank',
  async strike(rig, rng) {
    const pauseMs = rng.int(200, 2000);
    return rig.exclusive('bank', async () => {
      await rig.killBank();
      await sleep(pauseMs);
      await rig.restartBank();
      return 'kill-bank';
    });
  },
};

/** The bank's notifications: duplicated, failed, held and released, old ones re-sent out of order. */
export const notificationFaults: FaultActor = {
  name: 'notifications',
  async strike(rig, rng) {
    const roll = rng.float();
    if (roll < 0.3) return (await rig.bankSandbox('POST', '/sandbox/faults', { duplicateNextNotifications: rng.int(1, 5) })) ? 'duplicate' : undefined;
    if (roll < 0.5) return (await rig.bankSandbox('POST', '/sandbox/faults', { failNextNotifications: rng.int(1, 3) })) ? 'fail' : undefined;
    if (roll < 0.65) return (await rig.bankSandbox('POST', '/sandbox/faults', { reorderNextNotifications: rng.int(2, 4) })) ? 'reorder' : undefined;
    if (roll < 0.8) {
      if (!(await rig.bankSandbox('POST', '/sandbox/faults', { holdNotifications: true }))) return undefined;
      await sleep(rng.int(300, 2000));
      await rig.bankSandbox('POST', '/sandbox/faults', { holdNotifications: false });
      return 'hold-release';
    }
    const delivered = await rig.bankSandbox<{ id: string }[]>('GET', '/sandbox/notifications?state=DELIVERED');
    if (!delivered?.length) return undefined;
    const old = rng.pick(delivered.slice(Math.floor(delivered.length / 2)));
    return (await rig.bankSandbox('POST', `/sandbox/notifications/${old.id}/resend`)) ? 'resend-old' : undefined;
  },
  async calm(rig) {
    await rig.bankSandbox('POST', '/sandbox/faults', { reset: true });
  },
};

export const DEFAULT_ACTORS = [killCoffer, crashAtPoint, killBank, notificationFaults];

// ---- the checker -----------------------------------------------------------------------------------

export interface Violation {
  what: string;
  ids: string[];
}

/** What is still open after recovery (each a list of ids). Empty when everything is final. */
export async function openWork(db: Kysely<any>): Promise<Record<string, string[]>> {
  const ids = async (query: ReturnType<typeof sql<{ id: string }>>) => (await query.execute(db)).rows.map((r) => r.id);
  const open: Record<string, string[]> = {
    depositoryTransactions: await ids(sql`select request_no as id from depository_transactions where status = 'PENDING'`),
    recharges: await ids(sql`select request_no as id from recharge_records where status not in ('SUCCEEDED', 'FAILED')`),
    withdraws: await ids(sql`select request_no as id from withdraw_records where status not in ('SUCCEEDED', 'FAILED')`),
    payouts: await ids(sql`select id from payouts where status not in ('SUCCEEDED', 'FAILED', 'REVERSED')`),
    // Killed between a reversal's ledger transfers and REVERSED: the bank's notification or the reversal watch's query owes it.
    reversals: await ids(sql`
      select p.id from payouts p
      where p.status = 'SUCCEEDED' and exists (select 1 from ledger_transfers t where t.id = 'payout:' || p.id || ':reversal:amount')`),
    batches: await ids(sql`select id from payout_batches where status not in ('PROCESSED', 'REJECTED', 'AWAITING_APPROVAL')`),
    // Rows of a batch awaiting approval wait for the checker, not for recovery.
    batchRows: await ids(sql`select r.batch_id || ':' || r.line as id from payout_batch_rows r join payout_batches b on b.id = r.batch_id where r.status in ('PENDING', 'ACCEPTED') and b.status not in ('AWAITING_APPROVAL', 'REJECTED')`),
    subscriptions: await ids(sql`select id from product_subscriptions where status = 'AWAITING_PAYMENT'`),
    // Due on the business clock (UTC days, as the maturity job counts them) and not paid back yet: the job owes it.
    maturities: await ids(sql`
      select id from product_subscriptions
      where status in ('PAID', 'VALUE', 'MATURED')
        and maturity_date <= ((now() + (select offset_ms from business_clock) * interval '1 millisecond') at time zone 'UTC')::date`),
    payments: await ids(sql`select pay_order_no as id from payment_orders where status = 'DOING' and step not in ('CREATED', 'SMS_SENT')`),
    heldMoney: await ids(sql`select id from ledger_transfers where state = 'PENDING'`),
    outbox: await ids(sql`select id::text as id from outbox_messages where delivered_at is null and parked_at is null`),
    parkedOutbox: await ids(sql`select id::text as id from outbox_messages where parked_at is not null`),
    webhooks: await ids(sql`select id from webhook_deliveries where status <> 'DELIVERED'`),
  };
  return Object.fromEntries(Object.entries(open).filter(([, list]) => list.length > 0));
}

/**
 * After the faults: every acknowledged operation present exactly once, in the
 * final status its inputs call for, its money moved exactly once (the ledger
 * transfers its id names, and every wallet and merchant balance equal to what
 * the acknowledged operations add up to), and the ledger's own invariants and
 * hash chain intact.
 */
export async function checkAcknowledged(rig: FaultRig, workload: Workload, db: Kysely<any>): Promise<{ violations: Violation[]; lost: string[]; duplicated: string[] }> {
  const violations: Violation[] = [];
  const lost: string[] = [];
  const duplicated: string[] = [];
  const count = async (table: string, column: string, values: string[]) => {
    if (values.length === 0) return new Map<string, { n: number; status: string }>();
    const { rows } = await sql<{ id: string; n: number; status: string }>`select ${sql.ref(column)} as id, count(*)::int4 as n, min(status) as status from ${sql.table(table)} where ${sql.ref(column)} = any(${values}) group by 1`.execute(db);
    return new Map(rows.map((r) => [r.id, { n: r.n, status: r.status }]));
  };
  const byKind = <K extends Acked['kind']>(kind: K) => workload.acked.filter((op): op is Extract<Acked, { kind: K }> => op.kind === kind);

  const present = (kind: string, wanted: string[], found: Map<string, { n: number; status: string }>, finalOk: (id: string, status: string) => string | undefined) => {
    const wrong: string[] = [];
    for (const id of wanted) {
      const row = found.get(id);
      if (!row) lost.push(`${kind}:${id}`);
      else if (row.n > 1) duplicated.push(`${kind}:${id}`);
      else {
        const problem = finalOk(id, row.status);
        if (problem) wrong.push(`${id} (${problem})`);
      }
    }
    if (wrong.length > 0) violations.push({ what: `${kind}: not in the final status its inputs call for`, ids: wrong });
  };

  const recharges = byKind('recharge');
  const rechargeRows = await count('recharge_records', 'request_no', recharges.map((r) => r.requestNo));
  present('recharge', recharges.map((r) => r.requestNo), rechargeRows, (id, status) => {
    const op = recharges.find((r) => r.requestNo === id)!;
    if (op.confirmedAtBank === true && status !== 'SUCCEEDED') return `${status}, but the bank took the confirmation`;
    if (op.confirmedAtBank === false && status !== 'FAILED') return `${status}, but the user never confirmed it at the bank`;
    return undefined;
  });
  const withdraws = byKind('withdraw');
  const withdrawRows = await count('withdraw_records', 'request_no', withdraws.map((r) => r.requestNo));
  present('withdraw', withdraws.map((r) => r.requestNo), withdrawRows, (id, status) => {
    const op = withdraws.find((r) => r.requestNo === id)!;
    if (op.confirmedAtBank === true && status !== 'SUCCEEDED') return `${status}, but the bank took the confirmation`;
    if (op.confirmedAtBank === false && status !== 'FAILED') return `${status}, but the user never confirmed it at the bank`;
    return undefined;
  });
  const payouts = byKind('payout');
  const bankSays = new Map<string, string>();
  for (const payout of payouts) {
    const atBank = await rig.bankSandbox<{ status: string }[]>('GET', `/sandbox/payouts?payoutId=${payout.id}`);
    if (atBank?.[0]) bankSays.set(payout.id, atBank[0].status);
  }
  const payoutRows = await count('payouts', 'id', payouts.map((p) => p.id));
  present('payout', payouts.map((p) => p.id), payoutRows, (id, status) => {
    const expected = payouts.find((p) => p.id === id)!.expected;
    return status === expected ? undefined : `${status}, expected ${expected} (the bank says ${bankSays.get(id) ?? 'nothing'})`;
  });
  const batches = byKind('batch');
  const batchRows = await count('payout_batches', 'id', batches.map((b) => b.id));
  present('batch', batches.map((b) => b.id), batchRows, (id, status) => {
    const op = batches.find((b) => b.id === id)!;
    const expected = op.approved ? 'PROCESSED' : 'AWAITING_APPROVAL';
    return status === expected ? undefined : `${status}, expected ${expected}`;
  });
  const subscriptions = byKind('subscription');
  const subscriptionRows = await count('product_subscriptions', 'id', subscriptions.map((s) => s.id));
  present('subscription', subscriptions.map((s) => s.id), subscriptionRows, (_id, status) => (HELD_OR_SETTLED.includes(status) ? undefined : status));
  const cardSubscriptions = byKind('card-subscription');
  const cardRows = await count('product_subscriptions', 'id', cardSubscriptions.map((s) => s.id));
  present('card-subscription', cardSubscriptions.map((s) => s.id), cardRows, (id, status) => {
    const paid = cardSubscriptions.find((s) => s.id === id)!.paid;
    if (paid === 'SUCCESS' && !HELD_OR_SETTLED.includes(status)) return `${status}, but its payment succeeded`;
    if (paid !== 'SUCCESS' && status !== 'CANCELLED' && !HELD_OR_SETTLED.includes(status)) return status;
    return undefined;
  });

  const cardRecharges = byKind('card-recharge');
  const cardRechargeRows = await count('transaction_orders', 'id', cardRecharges.map((r) => r.id));
  present('card-recharge', cardRecharges.map((r) => r.id), cardRechargeRows, (id, status) => {
    const paid = cardRecharges.find((r) => r.id === id)!.paid;
    if (paid === 'SUCCESS' && status !== 'SUCCEEDED') return `${status}, but its payment succeeded`;
    if (paid === 'FAIL' && status !== 'FAILED') return `${status}, but its payment failed`;
    return undefined;
  });
  // A request made once, however often it was retried: every transaction order of these users carries the
  // Idempotency-Key of a request the workload sent (its own, or its subscription's), and a key opens one order
  // (unique per user). An order without one is a second request a retry made, or a flow that dropped the key.
  const { rows: orderKeys } = await sql<{ id: string; type: string; serialNo: string; key: string | null }>`
    select o.id, o.type, o.serial_no as "serialNo", coalesce(o.client_key, s.client_key) as key
    from transaction_orders o left join product_subscriptions s on o.type = 'PURCHASE' and s.id = o.serial_no
    where o.user_id in (select owner_id from ledger_accounts where account_no = any(${workload.users.map((u) => u.accountNo)}))`.execute(db);
  for (const order of orderKeys) {
    if (!order.key || !workload.keysSent.has(order.key)) duplicated.push(`${order.type} order ${order.id} (${order.serialNo}): no Idempotency-Key the workload sent`);
  }

  // Money, once: each business id's transfers, as the ids derived from it say.
  const transfersOf = async (references: string[]) => {
    if (references.length === 0) return new Map<string, string[]>();
    const { rows } = await sql<{ reference: string; code: string; state: string }>`select reference, code, state from ledger_transfers where reference = any(${references})`.execute(db);
    const map = new Map<string, string[]>();
    for (const row of rows) map.set(row.reference, [...(map.get(row.reference) ?? []), `${row.code}/${row.state}`]);
    return map;
  };
  const moneyWrong: string[] = [];
  const rechargeMoney = await transfersOf(recharges.map((r) => r.requestNo));
  for (const op of recharges) {
    const moved = (rechargeMoney.get(op.requestNo) ?? []).filter((t) => t.startsWith('recharge/'));
    const want = rechargeRows.get(op.requestNo)?.status === 'SUCCEEDED' ? 1 : 0;
    if (moved.length !== want) moneyWrong.push(`recharge ${op.requestNo}: ${moved.length} credits, expected ${want}`);
  }
  const cardMoney = await transfersOf(cardSubscriptions.map((s) => s.payOrderNo));
  for (const op of cardSubscriptions) {
    const moved = cardMoney.get(op.payOrderNo) ?? [];
    const want = HELD_OR_SETTLED.includes(cardRows.get(op.id)?.status ?? '') ? 1 : 0;
    if (moved.length !== want) moneyWrong.push(`card payment ${op.payOrderNo}: ${moved.length} transfers (${moved.join(', ')}), expected ${want}`);
  }
  const toppedUp = await transfersOf(cardRecharges.map((r) => r.payOrderNo));
  for (const op of cardRecharges) {
    const moved = toppedUp.get(op.payOrderNo) ?? [];
    const want = cardRechargeRows.get(op.id)?.status === 'SUCCEEDED' ? 1 : 0;
    if (moved.length !== want) moneyWrong.push(`card top-up ${op.payOrderNo}: ${moved.length} transfers (${moved.join(', ')}), expected ${want}`);
  }
  const walletPaid = await transfersOf(subscriptions.map((s) => s.id));
  for (const op of subscriptions) {
    const moved = (walletPaid.get(op.id) ?? []).filter((t) => t.startsWith('subscription/'));
    if (moved.length !== 1) moneyWrong.push(`subscription ${op.id}: ${moved.length} wallet payments (${moved.join(', ')}), expected 1`);
  }
  // Balances: each user's wallet is what its acknowledged operations add up to (an unacknowledged
  // retry that moved money too — a double charge — shows here).
  for (const accountNo of new Set(workload.users.flatMap((u) => [u.accountNo, ...(u.usdAccountNo ? [u.usdAccountNo] : [])]))) {
    let expected = 0n;
    for (const op of recharges) if (op.user === accountNo && rechargeRows.get(op.requestNo)?.status === 'SUCCEEDED') expected += op.amountMinor;
    for (const op of withdraws) if (op.user === accountNo && withdrawRows.get(op.requestNo)?.status === 'SUCCEEDED') expected -= op.amountMinor + WITHDRAW_FEE_MINOR;
    for (const op of cardRecharges) if (op.user === accountNo && cardRechargeRows.get(op.id)?.status === 'SUCCEEDED') expected += op.amountMinor;
    const mine = subscriptions.filter((op) => op.user === accountNo);
    for (const op of mine) expected -= op.amountMinor;
    // Every holding paid back lands in the wallet, also one paid for by card (its payment never touched the wallet).
    const holdings = [...mine, ...byKind('card-subscription').filter((op) => op.user === accountNo)].map((op) => op.id);
    if (holdings.length > 0) {
      const { rows } = await sql<{ back: string }>`
        select coalesce(sum(amount_minor + interest_minor), 0)::text as back from product_subscriptions where id = any(${holdings}) and status = 'SETTLED'`.execute(db);
      expected += BigInt(rows[0]!.back);
    }
    const { rows } = await sql<{ balance: string }>`select (posted_credits - posted_debits)::text as balance from ledger_accounts where account_no = ${accountNo}`.execute(db);
    if (BigInt(rows[0]?.balance ?? '0') !== expected) moneyWrong.push(`wallet ${accountNo}: balance ${rows[0]?.balance}, its acknowledged operations add up to ${expected}`);
  }
  // Balances: each merchant's settlement balance is what its acknowledged payouts leave.
  for (const merchantId of workload.merchantIds()) {
    const { rows } = await sql<{ spent: string }>`
      select coalesce(sum(amount_minor + fee_minor), 0)::text as spent from payouts where merchant_id = ${merchantId} and status = 'SUCCEEDED'`.execute(db);
    const { rows: balance } = await sql<{ balance: string }>`
      select (posted_credits - posted_debits)::text as balance from ledger_accounts
      where owner_kind = 'MERCHANT' and owner_id = ${merchantId} and type = 'MERCHANT_SETTLEMENT' and currency = 'CNY'`.execute(db);
    const expected = 100_000_000n - BigInt(rows[0]!.spent);
    if (balance[0] && BigInt(balance[0].balance) !== expected) moneyWrong.push(`merchant ${merchantId}: balance ${balance[0].balance}, its payouts leave ${expected}`);
  }
  if (moneyWrong.length > 0) violations.push({ what: 'money not moved exactly once', ids: moneyWrong });

  // Every payout at the bank once (the bank pays a payout id once; a second order is a bug).
  const twice: string[] = [];
  for (const payout of payouts) {
    const atBank = await rig.bankSandbox<unknown[]>('GET', `/sandbox/payouts?payoutId=${payout.id}`);
    if (atBank && atBank.length > 1) twice.push(payout.id);
  }
  if (twice.length > 0) violations.push({ what: 'payouts ordered twice at the bank', ids: twice });
  return { violations, lost, duplicated };
}

/** The ledger's own checks (balance sums, entry chains) and the hash chain, through the admin API. */
export async function ledgerViolations(rig: FaultRig): Promise<Violation[]> {
  const violations: Violation[] = [];
  const invariants = await rig.admin.request<{ ok: boolean; checks: { name: string; ok: boolean }[] }>('GET', '/admin/ledger/invariants');
  if (invariants.status !== 200 || !invariants.body.ok) {
    violations.push({ what: 'ledger invariants', ids: invariants.status === 200 ? invariants.body.checks.filter((c) => !c.ok).map((c) => c.name) : [`HTTP ${invariants.status}`] });
  }
  const chain = await rig.admin.request<{ ok: boolean }>('GET', '/admin/ledger/chain');
  if (chain.status !== 200 || !chain.body.ok) violations.push({ what: 'ledger hash chain', ids: [JSON.stringify(chain.body).slice(0, 500)] });
  return violations;
}

// ---- rounds ----------------------------------------------------------------------------------------

export interface RoundOptions {
  seed: number;
  round: number;
  /** How long operations and faults run. */
  faultMs: number;
  workers: number;
  actors: FaultActor[];
  /** Mean pause between two faults. */
  faultEveryMs: number;
  /** The bound on recovery: everything final within it, or the round fails. */
  recoveryMs: number;
}

export interface RoundReport {
  round: number;
  acknowledged: number;
  /** By kind of operation. */
  acknowledgedBy: Record<string, number>;
  refused: number;
  /** Why, by operation and problem code (refusals are normal: too little money, a batch not yet approvable). */
  refusedBy: Record<string, number>;
  unanswered: number;
  faults: Record<string, number>;
  violations: Violation[];
  lost: string[];
  duplicated: string[];
  stuck: Record<string, string[]>;
}

/** One round of operations and faults on `workload` (it lives across rounds: each check covers every earlier round's operations too). */
export async function runRound(rig: FaultRig, workload: Workload, options: RoundOptions): Promise<RoundReport> {
  if (!(await rig.bankAlive())) await rig.restartBank();
  const ackedBefore = workload.acked.length;
  const refusedBefore = workload.refused.length;
  const unansweredBefore = workload.unanswered;
  const faults: Record<string, number> = {};
  const endsAt = Date.now() + options.faultMs;
  const stop = () => Date.now() >= endsAt;
  // Faults overlap (a process restarting while the bank is down); each process is struck by one at a time.
  const strikes: Promise<void>[] = [];
  const faulting = (async () => {
    const faultRng = new Rng(options.seed * 1000 + options.round + 500);
    while (!stop()) {
      await sleep(faultRng.int(options.faultEveryMs / 2, (options.faultEveryMs * 3) / 2));
      if (stop()) break;
      const actor = faultRng.pick(options.actors);
      strikes.push(
        actor.strike(rig, faultRng).then(
          (done) => void (done && (faults[done] = (faults[done] ?? 0) + 1)),
          (err: unknown) => console.log(`[faults] ${actor.name} failed: ${(err as Error).message.slice(0, 300)}`),
        ),
      );
    }
  })();
  const supervising = (async () => {
    while (!stop()) {
      await sleep(1000);
      const restarted = await rig.supervise().catch(() => 0);
      if (restarted > 0) faults['restarted-after-crash-point'] = (faults['restarted-after-crash-point'] ?? 0) + restarted;
    }
  })();
  await Promise.all([workload.run(options.workers, stop), faulting, supervising]);
  await Promise.all(strikes);

  // Faults stop; recovery: everything restarted, every job and relay left to finish its work.
  for (const actor of options.actors) await actor.calm?.(rig);
  const checked = await recoverAndCheck(rig, workload, options.recoveryMs);
  return {
    round: options.round,
    acknowledged: workload.acked.length - ackedBefore,
    acknowledgedBy: tally(workload.acked.slice(ackedBefore).map((op) => op.kind)),
    refused: workload.refused.length - refusedBefore,
    refusedBy: tally(workload.refused.slice(refusedBefore).map((r) => `${r.op}:${r.status}:${r.code}`)),
    unanswered: workload.unanswered - unansweredBefore,
    faults,
    ...checked,
  };
}

/** Everything restarted, then (within `recoveryMs`) every record final; then the checks. */
export async function recoverAndCheck(rig: FaultRig, workload: Workload, recoveryMs: number): Promise<Pick<RoundReport, 'violations' | 'lost' | 'duplicated' | 'stuck'>> {
  const startedAt = Date.now();
  if (!(await rig.bankAlive())) await rig.restartBank();
  await rig.restartDead();
  trace(`restarted in ${Date.now() - startedAt} ms`);
  const stuck = await waitUntilFinal(rig, recoveryMs);
  trace(`final in ${Date.now() - startedAt} ms`);
  const checked = await rig.withBooks((db) => checkAcknowledged(rig, workload, db));
  const violations = [...checked.violations, ...(await ledgerViolations(rig))];
  trace(`checked in ${Date.now() - startedAt} ms`);
  return { ...checked, violations, stuck };
}

/**
 * Polls until nothing is open (PostgreSQL: every 250 ms beside the processes;
 * embedded: every few seconds, each look a kill -9 and a restart). Answers what
 * is still open when `boundMs` ran out (empty: all final).
 */
async function waitUntilFinal(rig: FaultRig, boundMs: number): Promise<Record<string, string[]>> {
  const deadline = Date.now() + boundMs;
  const pause = rig.options.store === 'postgres' ? 250 : 4000;
  for (;;) {
    await sleep(pause);
    const open = await rig.withBooks(openWork);
    trace(`open: ${JSON.stringify(Object.fromEntries(Object.entries(open).map(([k, v]) => [k, v.length])))}`);
    // Parked outbox messages do not resolve by waiting: reported, not waited for.
    const waiting = Object.keys(open).filter((k) => k !== 'parkedOutbox');
    if (waiting.length === 0 || Date.now() > deadline) return open;
  }
}

export function tally(labels: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const label of labels) counts[label] = (counts[label] ?? 0) + 1;
  return counts;
}

export function describeReport(seed: number, report: Pick<RoundReport, 'round'>): string {
  return `seed ${seed} round ${report.round}: ${JSON.stringify(report, null, 1).slice(0, 6000)}`;
}

/** Fails the test with the seed, the round and the offending ids. */
export function assertClean(seed: number, report: Pick<RoundReport, 'violations' | 'lost' | 'duplicated' | 'stuck' | 'round'>): void {
  assert.deepEqual(
    { violations: report.violations, lost: report.lost, duplicated: report.duplicated, stuck: report.stuck },
    { violations: [], lost: [], duplicated: [], stuck: {} },
    `FAULT_SEED=${seed} reproduces this: ${describeReport(seed, report)}`,
  );
}

