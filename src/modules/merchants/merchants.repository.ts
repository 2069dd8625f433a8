import { type Kysely, sql } from 'kysely';
import type { CurrencyCode } from '../../platform/money/index.ts';
import type {
  Adjustment,
  AdjustmentStatus,
  ApiKey,
  ApiKeyRole,
  AuthenticatedOperator,
  FeeRule,
  Merchant,
  MerchantId,
  MerchantStatus,
  Operator,
  Product,
} from './merchants.types.ts';

/** SQL only. Every statement runs the same on PGlite and a PostgreSQL server. */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Executor = Kysely<any>;

// ---- merchants --------------------------------------------------------------------------------

type MerchantRow = Omit<Merchant, 'fees'>;

const merchantColumns = sql`id, name, status, products, created_at as "createdAt", updated_at as "updatedAt"`;

export async function insertMerchant(db: Executor, merchant: Merchant): Promise<void> {
  await sql`
    insert into merchants (id, name, status, products, created_at, updated_at)
    values (${merchant.id}, ${merchant.name}, ${merchant.status}, ${JSON.stringify(merchant.products)}::jsonb,
      ${merchant.createdAt}, ${merchant.updatedAt})`.execute(db);
  for (const rule of merchant.fees) await insertFeeRule(db, merchant.id, rule);
}

async function insertFeeRule(db: Executor, merchantId: string, rule: FeeRule): Promise<void> {
  await sql`
    insert into merchant_fee_rules (merchant_id, product, currency, fixed_minor, rate_bp, min_minor, max_minor)
    values (${merchantId}, ${rule.product}, ${rule.currency}, ${rule.fixedMinor}, ${rule.rateBp}, ${rule.minMinor}, ${rule.maxMinor})`.execute(db);
}

/** Replaces every fee rule of the merchant. */
export async function replaceFeeRules(db: Executor, merchantId: string, rules: FeeRule[]): Promise<void> {
  await sql`delete from merchant_fee_rules where merchant_id = ${merchantId}`.execute(db);
  for (const rule of rules) await insertFeeRule(db, merchantId, rule);
}

async function feeRulesOf(db: Executor, merchantIds: string[]): Promise<Map<string, FeeRule[]>> {
  const byMerchant = new Map<string, FeeRule[]>();
  if (merchantIds.length === 0) return byMerchant;
  const { rows } = await sql<FeeRule & { merchantId: string }>`
    select merchant_id as "merchantId", product, currency, fixed_minor as "fixedMinor", rate_bp as "rateBp",
      min_minor as "minMinor", max_minor as "maxMinor"
    from merchant_fee_rules where merchant_id in (${sql.join(merchantIds)})
    order by merchant_id, product, currency`.execute(db);
  for (const { merchantId, ...rule } of rows) {
    const list = byMerchant.get(merchantId) ?? [];
    list.push(rule);
    byMerchant.set(merchantId, list);
  }
  return byMerchant;
}

async function withFees(db: Executor, rows: MerchantRow[]): Promise<Merchant[]> {
  const fees = await feeRulesOf(db, rows.map((row) => row.id));
  return rows.map((row) => ({ ...row, fees: fees.get(row.id) ?? [] }));
}

/** With `lock`, the row stays locked (for update) until the caller's transaction ends. */
export async function findMerchant(db: Executor, id: string, lock?: 'update' | 'share'): Promise<Merchant | undefined> {
  const suffix = lock === 'update' ? sql`for update` : lock === 'share' ? sql`for share` : sql``;
  const { rows } = await sql<MerchantRow>`select ${merchantColumns} from merchants where id = ${id} ${suffix}`.execute(db);
  return (await withFees(db, rows))[0];
}

/**
 * Several merchants with their fee rules, in one statement (one snapshot, one round trip: the
 * payouts' shared read behind `assertCanUse` + `feeFor`); unknown ids are left out.
 */
export async function findMerchants(db: Executor, ids: string[]): Promise<Merchant[]> {
  const { rows } = await sql<MerchantRow & { fees: FeeRuleJson[] }>`
    select m.id, m.name, m.status, m.products, m.created_at as "createdAt", m.updated_at as "updatedAt",
      coalesce((
        select json_agg(json_build_object('product', f.product, 'currency', f.currency, 'fixedMinor', f.fixed_minor::text,
          'rateBp', f.rate_bp, 'minMinor', f.min_minor::text, 'maxMinor', f.max_minor::text) order by f.product, f.currency)
        from merchant_fee_rules f where f.merchant_id = m.id), '[]'::json) as fees
    from merchants m where m.id = any(${ids}::text[])`.execute(db);
  return rows.map((row) => ({
    ...row,
    fees: row.fees.map((f) => ({
      product: f.product,
      currency: f.currency,
      fixedMinor: BigInt(f.fixedMinor),
      rateBp: f.rateBp,
      minMinor: f.minMinor === null ? null : BigInt(f.minMinor),
      maxMinor: f.maxMinor === null ? null : BigInt(f.maxMinor),
    })),
  }));
}

/** A fee rule as `json_build_object` gives it: int8 as text, so no amount passes through a float. */
interface FeeRuleJson {
  product: Product;
  currency: CurrencyCode;
  fixedMinor: string;
  rateBp: number;
  minMinor: string | null;
  maxMinor: string | null;
}

export async function listMerchants(db: Executor, limit: number, startingAfter: string | undefined, status?: MerchantStatus): Promise<Merchant[]> {
  const { rows } = await sql<MerchantRow>`
    select ${merchantColumns} from merchants
    where ${startingAfter === undefined ? sql`true` : sql`id > ${startingAfter}`}
      and ${status === undefined ? sql`true` : sql`status = ${status}`}
    order by id limit ${limit}`.execute(db);
  return withFees(db, rows);
}

/** The guarded move: changes the status only if it still is `from`. Undefined means a lost race. */
export async function updateStatus(db: Executor, id: string, from: MerchantStatus, to: MerchantStatus, now: Date): Promise<boolean> {
  const { rows } = await sql<{ id: string }>`
    update merchants set status = ${to}, updated_at = ${now}
    where id = ${id} and status = ${from} returning id`.execute(db);
  return rows.length === 1;
}

export async function updateProducts(db: Executor, id: string, products: Product[], now: Date): Promise<void> {
  await sql`update merchants set products = ${JSON.stringify(products)}::jsonb, updated_at = ${now} where id = ${id}`.execute(db);
}

// ---- API keys and the replay guard -----------------------------------------------------------

const keyColumns = sql`id, merchant_id as "merchantId", role, created_at as "createdAt", revoked_at as "revokedAt"`;

export async function insertApiKey(db: Executor, key: ApiKey, secretSealed: string): Promise<void> {
  await sql`
    insert into merchant_api_keys (id, merchant_id, role, secret_sealed, created_at)
    values (${key.id}, ${key.merchantId}, ${key.role}, ${secretSealed}, ${key.createdAt})`.execute(db);
}

export async function listApiKeys(db: Executor, merchantId: string): Promise<ApiKey[]> {
  const { rows } = await sql<ApiKey>`select ${keyColumns} from merchant_api_keys where merchant_id = ${merchantId} order by id`.execute(db);
  return rows;
}

export async function findApiKey(db: Executor, merchantId: string, keyId: string, lock = false): Promise<ApiKey | undefined> {
  const { rows } = await sql<ApiKey>`
    select ${keyColumns} from merchant_api_keys where id = ${keyId} and merchant_id = ${merchantId}
    ${lock ? sql`for update` : sql``}`.execute(db);
  return rows[0];
}

export async function revokeApiKey(db: Executor, keyId: string, now: Date): Promise<ApiKey | undefined> {
  const { rows } = await sql<ApiKey>`
    update merchant_api_keys set revoked_at = ${now} where id = ${keyId} and revoked_at is null
    returning ${keyColumns}`.execute(db);
  return rows[0];
}

export interface KeyForVerification {
  keyId: string;
  merchantId: MerchantId;
  role: ApiKeyRole;
  secretSealed: string;
  revoked: boolean;
  merchantStatus: MerchantStatus;
}

/** One read for the keys of several signed requests: each key, its sealed secret and its merchant's status. */
export async function keysForVerification(db: Executor, keyIds: string[]): Promise<KeyForVerification[]> {
  const { rows } = await sql<KeyForVerification>`
    select k.id as "keyId", k.merchant_id as "merchantId", k.role, k.secret_sealed as "secretSealed",
      k.revoked_at is not null as revoked, m.status as "merchantStatus"
    from merchant_api_keys k join merchants m on m.id = k.merchant_id
    where k.id = any(${keyIds}::text[])`.execute(db);
  return rows;
}

export interface SeenRequest {
  keyId: string;
  ts: number;
  signature: string;
}

/**
 * Records signed requests in one statement; answers, in order, whether each
 * one is new. A (key, timestamp, signature) already in the table, or earlier
 * in the same list, is not new: the primary key decides, across processes.
 */
export async function insertNonces(db: Executor, requests: SeenRequest[], now: Date): Promise<boolean[]> {
  const { rows } = await sql<{ keyId: string; ts: string; signature: string }>`
    insert into merchant_request_nonces (key_id, ts, signature, seen_at)
    select key_id, ts, signature, ${now}::timestamptz
    from unnest(${requests.map((r) => r.keyId)}::text[], ${requests.map((r) => r.ts)}::int8[], ${requests.map((r) => r.signature)}::text[])
      as n(key_id, ts, signature)
    on conflict do nothing
    returning key_id as "keyId", ts, signature`.execute(db);
  const fresh = new Set(rows.map((row) => `${row.keyId} ${row.ts} ${row.signature}`));
  return requests.map((r) => fresh.delete(`${r.keyId} ${r.ts} ${r.signature}`));
}

export async function deleteNoncesBefore(db: Executor, ts: number): Promise<number> {
  const result = await sql`delete from merchant_request_nonces where ts < ${ts}`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

// ---- adjustments ------------------------------------------------------------------------------

const adjustmentColumns = sql`
  id, merchant_id as "merchantId", account_id as "accountId", amount_minor as "amountMinor", currency, reason, status,
  transfer_id as "transferId", created_by_kind as "createdByKind", created_by_id as "createdById",
  created_at as "createdAt", posted_at as "postedAt"`;

/** Inserts the adjustment unless one with this request key exists for the merchant (then false). */
export async function insertAdjustment(db: Executor, adjustment: Adjustment, requestKey: string | null): Promise<boolean> {
  const { rows } = await sql<{ id: string }>`
    insert into merchant_adjustments (id, merchant_id, account_id, amount_minor, currency, reason, status, transfer_id,
      request_key, created_by_kind, created_by_id, created_at)
    values (${adjustment.id}, ${adjustment.merchantId}, ${adjustment.accountId}, ${adjustment.amountMinor}, ${adjustment.currency},
      ${adjustment.reason}, ${adjustment.status}, ${adjustment.transferId}, ${requestKey}, ${adjustment.createdByKind},
      ${adjustment.createdById}, ${adjustment.createdAt})
    on conflict (merchant_id, request_key) do nothing
    returning id`.execute(db);
  return rows.length === 1;
}

export async function findAdjustmentByRequestKey(db: Executor, merchantId: string, requestKey: string): Promise<Adjustment | undefined> {
  const { rows } = await sql<Adjustment>`
    select ${adjustmentColumns} from merchant_adjustments where merchant_id = ${merchantId} and request_key = ${requestKey}`.execute(db);
  return rows[0];
}

export async function findAdjustment(db: Executor, id: string): Promise<Adjustment | undefined> {
  const { rows } = await sql<Adjustment>`select ${adjustmentColumns} from merchant_adjustments where id = ${id}`.execute(db);
  return rows[0];
}

export async function listAdjustments(db: Executor, merchantId: string, limit: number, startingAfter: string | undefined): Promise<Adjustment[]> {
  const { rows } = await sql<Adjustment>`
    select ${adjustmentColumns} from merchant_adjustments
    where merchant_id = ${merchantId} and ${startingAfter === undefined ? sql`true` : sql`id < ${startingAfter}`}
    order by id desc limit ${limit}`.execute(db);
  return rows;
}

/** PENDING -> POSTED | FAILED, guarded: false when it had left PENDING already. */
export async function finishAdjustment(db: Executor, id: string, status: Exclude<AdjustmentStatus, 'PENDING'>, now: Date): Promise<boolean> {
  const { rows } = await sql<{ id: string }>`
    update merchant_adjustments set status = ${status}, posted_at = ${status === 'POSTED' ? now : null}
    where id = ${id} and status = 'PENDING' returning id`.execute(db);
  return rows.length === 1;
}

export async function pendingAdjustmentIds(db: Executor, createdBefore: Date, limit: number): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`
    select id from merchant_adjustments where status = 'PENDING' and created_at < ${createdBefore}
    order by created_at limit ${limit}`.execute(db);
  return rows.map((row) => row.id);
}

// ---- operators --------------------------------------------------------------------------------

const operatorColumns = sql`
  id, username, role, merchant_id as "merchantId", status, created_at as "createdAt", updated_at as "updatedAt"`;

/** False when the username is taken. */
export async function insertOperator(db: Executor, operator: Operator, passwordHash: string): Promise<boolean> {
  const { rows } = await sql<{ id: string }>`
    insert into operators (id, username, password_hash, role, merchant_id, status, created_at, updated_at)
    values (${operator.id}, ${operator.username}, ${passwordHash}, ${operator.role}, ${operator.merchantId},
      ${operator.status}, ${operator.createdAt}, ${operator.updatedAt})
    on conflict (username) do nothing returning id`.execute(db);
  return rows.length === 1;
}

export async function findOperator(db: Executor, id: string): Promise<Operator | undefined> {
  const { rows } = await sql<Operator>`select ${operatorColumns} from operators where id = ${id}`.execute(db);
  return rows[0];
}

export type OperatorLoginRow = Operator & { passwordHash: string; lockedUntil: Date | null };

export async function findOperatorByUsername(db: Executor, username: string): Promise<OperatorLoginRow | undefined> {
  const { rows } = await sql<OperatorLoginRow>`
    select ${operatorColumns}, password_hash as "passwordHash", locked_until as "lockedUntil"
    from operators where username = ${username}`.execute(db);
  return rows[0];
}

export async function listOperators(db: Executor, limit: number, startingAfter: string | undefined): Promise<Operator[]> {
  const { rows } = await sql<Operator>`
    select ${operatorColumns} from operators
    where ${startingAfter === undefined ? sql`true` : sql`id > ${startingAfter}`}
    order by id limit ${limit}`.execute(db);
  return rows;
}

/** ACTIVE <-> DISABLED, guarded on the current status; undefined when it was not `from`. */
export async function setOperatorStatus(db: Executor, id: string, from: Operator['status'], to: Operator['status'], now: Date): Promise<Operator | undefined> {
  const { rows } = await sql<Operator>`
    update operators set status = ${to}, updated_at = ${now}
    where id = ${id} and status = ${from} returning ${operatorColumns}`.execute(db);
  return rows[0];
}

/** As for users: counts a failure unless locked; the failure reaching `maxFailures` locks and restarts the count. */
export async function recordOperatorFailure(db: Executor, id: string, maxFailures: number, lockUntil: Date, now: Date): Promise<boolean> {
  const { rows } = await sql<{ id: string }>`
    update operators set
      failed_logins = case when failed_logins + 1 >= ${maxFailures} then 0 else failed_logins + 1 end,
      locked_until = case when failed_logins + 1 >= ${maxFailures} then ${lockUntil}::timestamptz else null end
    where id = ${id} and (locked_until is null or locked_until <= ${now})
    returning id`.execute(db);
  return rows.length === 1;
}

export async function recordOperatorSuccess(db: Executor, id: string, now: Date): Promise<boolean> {
  const { rows } = await sql<{ id: string }>`
    update operators set failed_logins = 0, locked_until = null
    where id = ${id} and (locked_until is null or locked_until <= ${now}) returning id`.execute(db);
  return rows.length === 1;
}

export async function insertOperatorSession(
  db: Executor,
  session: { id: string; operatorId: string; tokenHash: string; createdAt: Date; expiresAt: Date },
): Promise<void> {
  await sql`
    insert into operator_sessions (id, operator_id, token_hash, created_at, expires_at)
    values (${session.id}, ${session.operatorId}, ${session.tokenHash}, ${session.createdAt}, ${session.expiresAt})`.execute(db);
}

export async function findLiveOperatorSession(db: Executor, tokenHash: string, now: Date): Promise<AuthenticatedOperator | undefined> {
  const { rows } = await sql<AuthenticatedOperator>`
    select o.id, o.username, o.role, o.merchant_id as "merchantId", s.id as "sessionId"
    from operator_sessions s join operators o on o.id = s.operator_id
    where s.token_hash = ${tokenHash} and s.revoked_at is null and s.expires_at > ${now} and o.status = 'ACTIVE'`.execute(db);
  return rows[0];
}

export async function revokeOperatorSession(db: Executor, tokenHash: string, now: Date): Promise<boolean> {
  const { rows } = await sql<{ id: string }>`
    update operator_sessions set revoked_at = ${now} where token_hash = ${tokenHash} and revoked_at is null returning id`.execute(db);
  return rows.length === 1;
}

export async function deleteEndedOperatorSessions(db: Executor, endedBefore: Date): Promise<number> {
  const result = await sql`delete from operator_sessions where expires_at < ${endedBefore} or revoked_at < ${endedBefore}`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

