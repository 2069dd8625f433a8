import { randomBytes } from 'node:crypto';
import { type JsonValue, type Principal, recordAudit } from '../../platform/audit.ts';
import { Batcher, type BatcherOptions } from '../../platform/batcher.ts';
import { type Clock, wallClock } from '../../platform/clock.ts';
import { DomainError, isDomainError } from '../../platform/errors.ts';
import { isId, newId } from '../../platform/ids.ts';
import { currencyCode, type CurrencyCode, formatMinor, type Money, money, parseMoney } from '../../platform/money/index.ts';
import type { Account, LedgerService } from '../ledger/index.ts';
import { assertFeeTerms, computeFee } from './merchants.fees.ts';
import * as repo from './merchants.repository.ts';
import type { SecretBox } from './merchants.secrets.ts';
import { computeSignature, signatureMatches } from './merchants.signing.ts';
import {
  type Adjustment,
  type AdjustmentId,
  type ApiKey,
  type ApiKeyId,
  type ApiKeyRole,
  apiKeyRoles,
  type AuthenticatedMerchant,
  canTransition,
  type FeeRule,
  type Merchant,
  type MerchantId,
  type MerchantStatus,
  merchantStatuses,
  type Page,
  type Product,
  products as knownProducts,
} from './merchants.types.ts';

/** Who is making a change, for the audit log. */
export interface Actor {
  principal: Principal;
  requestId?: string | undefined;
}

export interface MerchantsOptions {
  /** Signed requests more than this many seconds away from now are refused (SPEC 5: 5 minutes). */
  signatureWindowS: number;
  /** An adjustment still PENDING after this long (its process died mid-way) is posted by the job. */
  adjustmentRecoveryAfterMs: number;
}

export const DEFAULT_MERCHANTS_OPTIONS: MerchantsOptions = { signatureWindowS: 300, adjustmentRecoveryAfterMs: 30_000 };

export interface MerchantsDeps {
  db: repo.Executor;
  clock: Clock;
  /**
   * What a signed request's timestamp is checked against: real time by default,
   * since merchants sign with their own clocks even while the sandbox test clock
   * has moved business time on.
   */
  requestClock?: Clock;
  ledger: LedgerService;
  secrets: SecretBox;
  options?: Partial<MerchantsOptions>;
  /**
   * The reads and writes of concurrent signed requests and payout checks are
   * shared: one statement per group (default: up to 200 at once, 4 groups at a time).
   */
  batching?: BatcherOptions;
}

/** A fee rule as the API writes it: decimal strings in the rule's currency. */
export interface FeeRuleInput {
  product: string;
  currency: string;
  fixed?: string | undefined;
  rateBp?: number | undefined;
  min?: string | undefined;
  max?: string | undefined;
}

export interface SignedRequest {
  keyId: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
  method: string;
  /** Path with query, as on the request line. */
  url: string;
  body: Buffer;
}

/** API secrets: 32 random bytes behind a prefix secret scanners can spot. */
const SECRET_PREFIX = 'csk_';
const TIMESTAMP_FORMAT = /^\d{1,12}$/;

export function merchantAuditView(merchant: Merchant): JsonValue {
  return {
    merchantId: merchant.id,
    name: merchant.name,
    status: merchant.status,
    products: merchant.products,
    fees: merchant.fees.map(feeRuleView),
  };
}

export function feeRuleView(rule: FeeRule): { product: Product; currency: CurrencyCode; fixed: string; rateBp: number; min: string | null; max: string | null } {
  return {
    product: rule.product,
    currency: rule.currency,
    fixed: formatMinor(rule.fixedMinor, rule.currency),
    rateBp: rule.rateBp,
    min: rule.minMinor === null ? null : formatMinor(rule.minMinor, rule.currency),
    max: rule.maxMinor === null ? null : formatMinor(rule.maxMinor, rule.currency),
  };
}

function apiKeyAuditView(key: ApiKey): JsonValue {
  return { keyId: key.id, merchantId: key.merchantId, role: key.role, revokedAt: key.revokedAt?.toISOString() ?? null };
}

function adjustmentAuditView(adjustment: Adjustment): JsonValue {
  return {
    adjustmentId: adjustment.id,
    merchantId: adjustment.merchantId,
    amount: formatMinor(adjustment.amountMinor, adjustment.currency),
    currency: adjustment.currency,
    reason: adjustment.reason,
    accountId: adjustment.accountId,
    transferId: adjustment.transferId,
    status: adjustment.status,
  };
}

function validation(detail: string, path: string): DomainError {
  return new DomainError('VALIDATION_FAILED', detail, { errors: [{ path, message: detail }] });
}

function productList(values: readonly string[]): Product[] {
  const unique = [...new Set(values)];
  for (const value of unique) {
    if (!(knownProducts as readonly string[]).includes(value)) {
      throw validation(`Unknown product "${value}"; products are ${knownProducts.join(', ')}`, '/body/products');
    }
  }
  return unique as Product[];
}

/** Parses and checks the API's fee rules; one rule per (product, currency). */
export function feeRulesFrom(inputs: readonly FeeRuleInput[]): FeeRule[] {
  const seen = new Set<string>();
  return inputs.map((input, index) => {
    const [product] = productList([input.product]);
    const currency = currencyCode(input.currency);
    const key = `${product}/${currency}`;
    if (seen.has(key)) throw validation(`Two fee rules for ${product} in ${currency}`, `/body/fees/${index}`);
    seen.add(key);
    const amount = (text: string | undefined) => (text === undefined ? null : parseMoney(text, currency, { allowZero: true }).amountMinor);
    const rule: FeeRule = {
      product: product!,
      currency,
      fixedMinor: amount(input.fixed) ?? 0n,
      rateBp: input.rateBp ?? 0,
      minMinor: amount(input.min),
      maxMinor: amount(input.max),
    };
    assertFeeTerms(rule, String(index));
    return rule;
  });
}

/**
 * Merchants (SPEC 5, seed 003's 商户系统): onboarding and review, enabled
 * products, fee rules, settlement accounts in the ledger and admin
 * adjustments, API keys and the verification of signed requests. Every change
 * writes its audit entry in the same transaction.
 *
 * For the payouts module (through index.ts): `assertCanUse`, `feeFor`,
 * `settlementAccount`.
 */
export class MerchantsService {
  readonly options: MerchantsOptions;
  /** Fresh reads, shared by the requests of one moment: nothing here is cached. */
  private readonly merchantReader: Batcher<string, Merchant | undefined>;
  private readonly keyReader: Batcher<string, repo.KeyForVerification | undefined>;
  private readonly replayGuard: Batcher<repo.SeenRequest, boolean>;

  constructor(private readonly deps: MerchantsDeps) {
    this.options = { ...DEFAULT_MERCHANTS_OPTIONS, ...deps.options };
    const batching = deps.batching ?? { maxBatch: 200, concurrency: 4 };
    this.merchantReader = new Batcher(async (ids) => {
      const found = new Map((await repo.findMerchants(deps.db, [...new Set(ids)])).map((m) => [m.id as string, m]));
      return ids.map((id) => ({ ok: true, value: found.get(id) }));
    }, batching);
    this.keyReader = new Batcher(async (ids) => {
      const found = new Map((await repo.keysForVerification(deps.db, [...new Set(ids)])).map((k) => [k.keyId, k]));
      return ids.map((id) => ({ ok: true, value: found.get(id) }));
    }, batching);
    this.replayGuard = new Batcher(async (requests) => {
      const fresh = await repo.insertNonces(deps.db, requests, deps.clock.now());
      return fresh.map((value) => ({ ok: true, value }));
    }, batching);
  }

  // ---- merchants ------------------------------------------------------------------------------

  async createMerchant(input: { name: string; products: readonly string[]; fees?: readonly FeeRuleInput[] | undefined }, actor: Actor): Promise<Merchant> {
    const name = input.name.trim();
    if (name.length === 0) throw validation('name must not be blank', '/body/name');
    const now = this.deps.clock.now();
    const merchant: Merchant = {
      id: newId('mch', now.getTime()) as MerchantId,
      name,
      status: 'PENDING_REVIEW',
      products: productList(input.products),
      fees: feeRulesFrom(input.fees ?? []),
      createdAt: now,
      updatedAt: now,
    };
    await this.deps.db.transaction().execute(async (trx) => {
      await repo.insertMerchant(trx, merchant);
      await this.audit(trx, actor, 'merchant.create', merchant.id, null, merchantAuditView(merchant), now);
    });
    return merchant;
  }

  async getMerchant(id: string): Promise<Merchant> {
    const merchant = isId(id, 'mch') ? await repo.findMerchant(this.deps.db, id) : undefined;
    if (!merchant) throw new DomainError('MERCHANT_NOT_FOUND', `No merchant ${id}`);
    return merchant;
  }

  async listMerchants(query: { limit?: number | undefined; startingAfter?: string | undefined; status?: string | undefined } = {}): Promise<Page<Merchant>> {
    const limit = Math.min(Math.max(query.limit ?? 50, 1), 200);
    if (query.status !== undefined && !(merchantStatuses as readonly string[]).includes(query.status)) {
      throw validation(`status must be one of ${merchantStatuses.join(', ')}`, '/querystring/status');
    }
    const rows = await repo.listMerchants(this.deps.db, limit + 1, query.startingAfter, query.status as MerchantStatus | undefined);
    return { data: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  activate(id: string, actor: Actor): Promise<Merchant> {
    return this.transition(id, 'ACTIVE', actor);
  }

  suspend(id: string, actor: Actor): Promise<Merchant> {
    return this.transition(id, 'SUSPENDED', actor);
  }

  /**
   * Moves the merchant along its transitions table. Asking for the status it
   * already has is a no-op (safe to retry, nothing audited); a move not in the
   * table, or one that lost a race to another move, is MERCHANT_STATUS_CONFLICT.
   */
  private async transition(id: string, to: MerchantStatus, actor: Actor): Promise<Merchant> {
    const current = await this.getMerchant(id);
    if (current.status === to) return current;
    if (!canTransition(current.status, to)) {
      throw new DomainError('MERCHANT_STATUS_CONFLICT', `A ${current.status} merchant cannot become ${to}`, { status: current.status });
    }
    const now = this.deps.clock.now();
    return this.deps.db.transaction().execute(async (trx) => {
      if (!(await repo.updateStatus(trx, current.id, current.status, to, now))) {
        const fresh = await repo.findMerchant(trx, current.id);
        if (fresh?.status === to) return fresh;
        throw new DomainError('MERCHANT_STATUS_CONFLICT', `The merchant changed status meanwhile (now ${fresh?.status})`, { status: fresh?.status ?? null });
      }
      const after: Merchant = { ...current, status: to, updatedAt: now };
      const action = to === 'ACTIVE' ? 'merchant.activate' : 'merchant.suspend';
      await this.audit(trx, actor, action, current.id, merchantAuditView(current), merchantAuditView(after), now);
      return after;
    });
  }

  /** Replaces the enabled products and/or the fee rules. */
  async updateTerms(id: string, input: { products?: readonly string[] | undefined; fees?: readonly FeeRuleInput[] | undefined }, actor: Actor): Promise<Merchant> {
    const products = input.products === undefined ? undefined : productList(input.products);
    const fees = input.fees === undefined ? undefined : feeRulesFrom(input.fees);
    await this.getMerchant(id);
    const now = this.deps.clock.now();
    return this.deps.db.transaction().execute(async (trx) => {
      const before = await repo.findMerchant(trx, id, 'update');
      if (!before) throw new DomainError('MERCHANT_NOT_FOUND', `No merchant ${id}`);
      if (products) await repo.updateProducts(trx, id, products, now);
      if (fees) await repo.replaceFeeRules(trx, id, fees);
      const after: Merchant = { ...before, products: products ?? before.products, fees: fees ?? before.fees, updatedAt: now };
      await this.audit(trx, actor, 'merchant.update_terms', id, merchantAuditView(before), merchantAuditView(after), now);
      return after;
    });
  }

  /**
   * For the payouts module, before accepting a payout: the merchant must be
   * ACTIVE (MERCHANT_NOT_ACTIVE) and have the product enabled
   * (PRODUCT_NOT_ENABLED). Given a transaction, the merchant row is share-locked
   * until it ends, so a suspension cannot commit in the middle of an acceptance.
   * Without one it is read now (one read shared by the checks of the moment).
   */
  async assertCanUse(merchantId: string, product: Product, tx: repo.Executor = this.deps.db): Promise<Merchant> {
    const merchant = !isId(merchantId, 'mch')
      ? undefined
      : tx === this.deps.db
        ? await this.merchantReader.submit(merchantId)
        : await repo.findMerchant(tx, merchantId, 'share');
    if (!merchant) throw new DomainError('MERCHANT_NOT_FOUND', `No merchant ${merchantId}`);
    if (merchant.status !== 'ACTIVE') {
      throw new DomainError('MERCHANT_NOT_ACTIVE', `The merchant is ${merchant.status}, not ACTIVE`, { status: merchant.status });
    }
    if (!merchant.products.includes(product)) {
      throw new DomainError('PRODUCT_NOT_ENABLED', `The merchant has not enabled ${product}`, { product });
    }
    return merchant;
  }

  /**
   * The fee for a payout of `amountMinor` (merchants.fees.ts states the maths
   * and its rounding). A merchant with no rule for this product and currency
   * pays no fee: fees are optional at onboarding (SPEC 5), so "no rule" means
   * "free", not "refused".
   */
  async feeFor(merchantId: string, product: Product, amountMinor: bigint, currency: CurrencyCode): Promise<Money> {
    const code = currencyCode(currency);
    // The same shared read as assertCanUse's: asked for at the same moment, the merchant is read once.
    const merchant = isId(merchantId, 'mch') ? await this.merchantReader.submit(merchantId) : undefined;
    if (!merchant) throw new DomainError('MERCHANT_NOT_FOUND', `No merchant ${merchantId}`);
    const rule = merchant.fees.find((r) => r.product === product && r.currency === code);
    return money(rule ? computeFee(rule, amountMinor) : 0n, code);
  }

  /** The merchant's settlement account in `currency`, opened in the ledger on first use. */
  async settlementAccount(merchantId: string, currency: CurrencyCode): Promise<Account> {
    const merchant = await this.getMerchant(merchantId);
    const owner = { ownerKind: 'MERCHANT' as const, ownerId: merchant.id, type: 'MERCHANT_SETTLEMENT' as const, currency: currencyCode(currency) };
    const found = await this.deps.ledger.findAccount(owner);
    if (found) return found;
    try {
      return await this.deps.ledger.openAccount(owner);
    } catch (err) {
      if (!isDomainError(err, 'ACCOUNT_ALREADY_EXISTS')) throw err;
      return (await this.deps.ledger.findAccount(owner))!; // opened by a concurrent request
    }
  }

  /** Every settlement account of the merchant (one per currency used so far). */
  async settlementAccounts(merchantId: string): Promise<Account[]> {
    const accounts = await this.deps.ledger.accountsOf('MERCHANT', merchantId);
    return accounts.filter((account) => account.type === 'MERCHANT_SETTLEMENT');
  }

  // ---- adjustments ----------------------------------------------------------------------------

  /**
   * Credits the merchant's settlement account from the platform funding
   * account, recording who did it and why. Exactly once, however often it is
   * retried:
   *  - the adjustment row is keyed on the request's Idempotency-Key (when sent),
   *    so a retry after a crash finds the first adjustment instead of making another;
   *  - the ledger transfer's id is `adjustment:<adjustment id>`, so posting it
   *    again moves nothing;
   *  - an adjustment left PENDING by a process that died between the two steps
   *    is posted by `completePendingAdjustments` (a job), with the same transfer id.
   */
  async adjust(
    merchantId: string,
    input: { amount: string; currency: string; reason: string },
    actor: Actor,
    requestKey: string | null = null,
  ): Promise<Adjustment> {
    const merchant = await this.getMerchant(merchantId);
    const currency = currencyCode(input.currency);
    const amountMinor = parseMoney(input.amount, currency).amountMinor;
    const reason = input.reason.trim();
    if (reason.length === 0) throw validation('reason must say why the balance is adjusted', '/body/reason');
    const account = await this.settlementAccount(merchant.id, currency);
    const now = this.deps.clock.now();
    const id = newId('adj', now.getTime()) as AdjustmentId;
    const adjustment: Adjustment = {
      id,
      merchantId: merchant.id,
      accountId: account.id,
      amountMinor,
      currency,
      reason,
      status: 'PENDING',
      transferId: `adjustment:${id}`,
      createdByKind: actor.principal.kind,
      createdById: actor.principal.id,
      createdAt: now,
      postedAt: null,
    };
    const recorded = await this.deps.db.transaction().execute(async (trx) => {
      if (!(await repo.insertAdjustment(trx, adjustment, requestKey))) {
        const first = (await repo.findAdjustmentByRequestKey(trx, merchant.id, requestKey!))!;
        if (first.amountMinor !== amountMinor || first.currency !== currency || first.reason !== reason) {
          throw new DomainError('IDEMPOTENCY_KEY_REUSED', `This Idempotency-Key made adjustment ${first.id} with other content`);
        }
        return first;
      }
      await this.audit(trx, actor, 'merchant.adjustment', merchant.id, null, adjustmentAuditView(adjustment), now);
      return adjustment;
    });
    return this.post(recorded);
  }

  /** Posts a PENDING adjustment's transfer (idempotent) and marks it POSTED, or FAILED on a business refusal. */
  private async post(adjustment: Adjustment): Promise<Adjustment> {
    if (adjustment.status !== 'PENDING') return adjustment;
    const funding = await this.deps.ledger.platformAccount('PLATFORM_FUNDING', adjustment.currency);
    try {
      await this.deps.ledger.transfer({
        id: adjustment.transferId,
        debitAccountId: funding.id,
        creditAccountId: adjustment.accountId as Account['id'],
        amountMinor: adjustment.amountMinor,
        currency: adjustment.currency,
        code: 'adjustment',
        reference: adjustment.id,
        metadata: { merchantId: adjustment.merchantId, adjustmentId: adjustment.id },
      });
    } catch (err) {
      if (isDomainError(err)) {
        await repo.finishAdjustment(this.deps.db, adjustment.id, 'FAILED', this.deps.clock.now());
      }
      throw err;
    }
    const now = this.deps.clock.now();
    await repo.finishAdjustment(this.deps.db, adjustment.id, 'POSTED', now);
    return (await repo.findAdjustment(this.deps.db, adjustment.id)) ?? { ...adjustment, status: 'POSTED', postedAt: now };
  }

  async getAdjustment(merchantId: string, id: string): Promise<Adjustment> {
    const adjustment = isId(id, 'adj') ? await repo.findAdjustment(this.deps.db, id) : undefined;
    if (!adjustment || adjustment.merchantId !== merchantId) throw new DomainError('NOT_FOUND', `No adjustment ${id} for merchant ${merchantId}`);
    return adjustment;
  }

  async listAdjustments(merchantId: string, query: { limit?: number | undefined; startingAfter?: string | undefined } = {}): Promise<Page<Adjustment>> {
    await this.getMerchant(merchantId);
    const limit = Math.min(Math.max(query.limit ?? 50, 1), 200);
    const rows = await repo.listAdjustments(this.deps.db, merchantId, limit + 1, query.startingAfter);
    return { data: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  /** The recovery job: posts adjustments left PENDING by a process that stopped mid-way. Returns how many. */
  async completePendingAdjustments(limit = 100): Promise<number> {
    const before = new Date(this.deps.clock.now().getTime() - this.options.adjustmentRecoveryAfterMs);
    let done = 0;
    for (const id of await repo.pendingAdjustmentIds(this.deps.db, before, limit)) {
      const adjustment = await repo.findAdjustment(this.deps.db, id);
      if (!adjustment) continue;
      try {
        await this.post(adjustment);
        done += 1;
      } catch {
        // A business refusal marked it FAILED; anything else is retried on the next run.
      }
    }
    return done;
  }

  // ---- API keys -------------------------------------------------------------------------------

  /** A new key with its secret. The secret is returned here once and never again (only its sealed form is kept). */
  async createApiKey(merchantId: string, role: string | undefined, actor: Actor): Promise<{ key: ApiKey; secret: string }> {
    const merchant = await this.getMerchant(merchantId);
    const keyRole = (role ?? 'maker') as ApiKeyRole;
    if (!apiKeyRoles.includes(keyRole)) throw validation(`role must be one of ${apiKeyRoles.join(', ')}`, '/body/role');
    const now = this.deps.clock.now();
    const key: ApiKey = { id: newId('mk', now.getTime()) as ApiKeyId, merchantId: merchant.id, role: keyRole, createdAt: now, revokedAt: null };
    const secret = SECRET_PREFIX + randomBytes(32).toString('base64url');
    await this.deps.db.transaction().execute(async (trx) => {
      await repo.insertApiKey(trx, key, this.deps.secrets.seal(secret, key.id));
      await this.audit(trx, actor, 'api_key.create', key.id, null, apiKeyAuditView(key), now, 'api_key');
    });
    return { key, secret };
  }

  async listApiKeys(merchantId: string): Promise<ApiKey[]> {
    const merchant = await this.getMerchant(merchantId);
    return repo.listApiKeys(this.deps.db, merchant.id);
  }

  /** Revokes the key at once (signed requests with it are refused from now on). Revoking twice is harmless. */
  async revokeApiKey(merchantId: string, keyId: string, actor: Actor): Promise<ApiKey> {
    const merchant = await this.getMerchant(merchantId);
    const now = this.deps.clock.now();
    return this.deps.db.transaction().execute(async (trx) => {
      const before = await repo.findApiKey(trx, merchant.id, keyId, true);
      if (!before) throw new DomainError('API_KEY_NOT_FOUND', `Merchant ${merchant.id} has no API key ${keyId}`);
      if (before.revokedAt) return before;
      const after = (await repo.revokeApiKey(trx, keyId, now))!;
      await this.audit(trx, actor, 'api_key.revoke', keyId, apiKeyAuditView(before), apiKeyAuditView(after), now, 'api_key');
      return after;
    });
  }

  /**
   * Verifies a signed merchant request (SPEC 5). In order: the three headers
   * are there; the timestamp is within the window (cheap, before any lookup);
   * the key exists; the HMAC over the raw body matches (constant-time); the key
   * is not revoked and the merchant not suspended (said only to whoever proved
   * they hold the secret); and this (key, timestamp, signature) was never seen
   * — the replay guard is the primary key of `merchant_request_nonces`, so it
   * holds across processes. The key read and the replay guard's insert are
   * each one statement shared by the signed requests of the moment; neither
   * is cached, so a revocation or suspension refuses the next request.
   */
  async verifySignedRequest(request: SignedRequest): Promise<AuthenticatedMerchant> {
    const { keyId, timestamp, signature } = request;
    if (!keyId || !timestamp || !signature) {
      throw new DomainError('MERCHANT_AUTH_REQUIRED', 'Sign the request: send X-Coffer-Key, X-Coffer-Timestamp and X-Coffer-Signature');
    }
    if (!TIMESTAMP_FORMAT.test(timestamp)) {
      throw new DomainError('MERCHANT_AUTH_REQUIRED', 'X-Coffer-Timestamp must be unix seconds');
    }
    const ts = Number(timestamp);
    const nowS = this.requestNowS();
    if (Math.abs(nowS - ts) > this.options.signatureWindowS) {
      throw new DomainError('TIMESTAMP_OUT_OF_WINDOW', `X-Coffer-Timestamp must be within ${this.options.signatureWindowS} s of the server's time`, { serverTime: nowS });
    }
    const key = isId(keyId, 'mk') ? await this.keyReader.submit(keyId) : undefined;
    if (!key) throw new DomainError('API_KEY_UNKNOWN', 'No API key has this X-Coffer-Key');
    const secret = this.deps.secrets.open(key.secretSealed, key.keyId);
    if (secret === undefined) throw new Error(`API key ${key.keyId}: its secret does not decrypt with this server's MERCHANT_SECRETS_KEY`);
    const expected = computeSignature(secret, timestamp, request.method, request.url, request.body);
    if (!signatureMatches(signature, expected)) {
      throw new DomainError('INVALID_SIGNATURE', 'X-Coffer-Signature does not match: sign timestamp, method, path with query and the exact body bytes with the key\'s secret');
    }
    if (key.revoked) throw new DomainError('API_KEY_REVOKED', 'This API key was revoked; use another of the merchant\'s keys');
    if (key.merchantStatus === 'SUSPENDED') throw new DomainError('MERCHANT_SUSPENDED', 'The merchant is suspended');
    if (!(await this.replayGuard.submit({ keyId: key.keyId, ts, signature: signature.toLowerCase() }))) {
      throw new DomainError('REPLAYED_REQUEST', 'This signed request was received before: sign each request afresh');
    }
    return { merchantId: key.merchantId, keyId: key.keyId as ApiKeyId, role: key.role };
  }

  /**
   * Forgets signed requests too old to pass the timestamp check anyway (one
   * window plus a minute of slack), so the replay guard's table stays small.
   */
  purgeSeenRequests(): Promise<number> {
    return repo.deleteNoncesBefore(this.deps.db, this.requestNowS() - this.options.signatureWindowS - 60);
  }

  private requestNowS(): number {
    return Math.floor((this.deps.requestClock ?? wallClock).now().getTime() / 1000);
  }

  // ---- helpers --------------------------------------------------------------------------------

  private async audit(
    trx: repo.Executor,
    actor: Actor,
    action: string,
    subjectId: string,
    before: JsonValue | null,
    after: JsonValue | null,
    now: Date,
    subjectKind = 'merchant',
  ): Promise<void> {
    await recordAudit(trx, { principal: actor.principal, action, subject: { kind: subjectKind, id: subjectId }, before, after, requestId: actor.requestId }, now);
  }
}
