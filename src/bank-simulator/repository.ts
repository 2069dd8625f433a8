/** SQL only: every query the simulator runs. Money columns are bigint minor units. */
import { type ColumnType, type Generated, type Kysely, type Selectable, sql, type Transaction } from 'kysely';

export type RequestStatus = 'PENDING' | 'SUCCESS' | 'FAIL';
export type DeliveryState = 'PENDING' | 'DELIVERED' | 'DEAD';

export interface BankUsersTable {
  user_no: string;
  real_name: string;
  id_number: string;
  mobile: string;
  password_hash: string;
  failed_attempts: Generated<number>;
  locked_until: Date | null;
  created_at: Generated<Date>;
}

export interface VirtualAccountsTable {
  user_no: string;
  currency: string;
  balance_minor: bigint;
  updated_at: Generated<Date>;
}

export interface CardsTable {
  card_number: string;
  bank_code: string | null;
  holder_user_no: string | null;
  currency: string;
  balance_minor: bigint;
  created_at: Generated<Date>;
}

export interface RequestsTable {
  platform_no: string;
  request_no: string;
  service_name: string;
  user_no: string;
  amount_minor: bigint | null;
  fee_minor: bigint | null;
  currency: string | null;
  card_number: string | null;
  status: RequestStatus;
  error_code: string | null;
  error_message: string | null;
  form_token: string;
  request_data: string;
  result_data: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface Attempt {
  at: string;
  /** null when no HTTP answer came (network error, time-out, or a sandbox fault). */
  httpStatus: number | null;
  body: string;
}

export interface NotificationsTable {
  id: string;
  platform_no: string;
  request_no: string;
  service_name: string;
  /** A depository request's SUCCESS | FAIL, or a payout's SUCCEEDED | FAILED | REVERSED. */
  status: 'SUCCESS' | 'FAIL' | 'SUCCEEDED' | 'FAILED' | 'REVERSED';
  notify_url: string;
  req_data: string;
  signature: string;
  attempts: ColumnType<Attempt[], string, string>;
  next_attempt_at: Date;
  state: DeliveryState;
  created_at: Generated<Date>;
}

export type BankUserRow = Selectable<BankUsersTable>;
export type VirtualAccountRow = Selectable<VirtualAccountsTable>;
export type CardRow = Selectable<CardsTable>;
export type RequestRow = Selectable<RequestsTable>;
export type NotificationRow = Selectable<NotificationsTable>;

export interface BankDatabase {
  bank_users: BankUsersTable;
  bank_virtual_accounts: VirtualAccountsTable;
  bank_cards: CardsTable;
  bank_requests: RequestsTable;
  bank_notifications: NotificationsTable;
}

export type BankDb = Kysely<BankDatabase>;
export type BankTx = Transaction<BankDatabase>;
type Db = BankDb | BankTx;

// ---- users and virtual accounts

export async function findUser(db: Db, userNo: string): Promise<BankUserRow | undefined> {
  return db.selectFrom('bank_users').selectAll().where('user_no', '=', userNo).executeTakeFirst();
}

export async function insertUser(
  db: Db,
  user: Pick<BankUserRow, 'user_no' | 'real_name' | 'id_number' | 'mobile' | 'password_hash'>,
): Promise<boolean> {
  const rows = await db.insertInto('bank_users').values(user).onConflict((oc) => oc.column('user_no').doNothing()).returning('user_no').execute();
  return rows.length === 1;
}

/** Counts a wrong password atomically and locks the user when it reaches `maxFailures`. */
export async function recordPasswordFailure(db: Db, userNo: string, maxFailures: number, lockS: number): Promise<BankUserRow> {
  return db
    .updateTable('bank_users')
    .set({
      failed_attempts: sql`case when failed_attempts + 1 >= ${maxFailures}::int then 0 else failed_attempts + 1 end`,
      locked_until: sql`case when failed_attempts + 1 >= ${maxFailures}::int then now() + make_interval(secs => ${lockS}::float8) else locked_until end`,
    })
    .where('user_no', '=', userNo)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function clearPasswordFailures(db: Db, userNo: string): Promise<void> {
  await db.updateTable('bank_users').set({ failed_attempts: 0, locked_until: null }).where('user_no', '=', userNo).execute();
}

export async function insertVirtualAccount(db: Db, userNo: string, currency: string): Promise<void> {
  await db.insertInto('bank_virtual_accounts').values({ user_no: userNo, currency, balance_minor: 0n }).onConflict((oc) => oc.column('user_no').doNothing()).execute();
}

export async function findVirtualAccount(db: Db, userNo: string): Promise<VirtualAccountRow | undefined> {
  return db.selectFrom('bank_virtual_accounts').selectAll().where('user_no', '=', userNo).executeTakeFirst();
}

export async function creditVirtualAccount(db: Db, userNo: string, currency: string, amountMinor: bigint): Promise<void> {
  await db
    .insertInto('bank_virtual_accounts')
    .values({ user_no: userNo, currency, balance_minor: amountMinor })
    .onConflict((oc) => oc.column('user_no').doUpdateSet({ balance_minor: sql`bank_virtual_accounts.balance_minor + ${amountMinor}`, updated_at: sql`now()` }))
    .execute();
}

/** False (and nothing changed) when the balance is too low. */
export async function debitVirtualAccount(db: Db, userNo: string, amountMinor: bigint): Promise<boolean> {
  const rows = await db
    .updateTable('bank_virtual_accounts')
    .set({ balance_minor: sql`balance_minor - ${amountMinor}`, updated_at: sql`now()` })
    .where('user_no', '=', userNo)
    .where('balance_minor', '>=', amountMinor)
    .returning('user_no')
    .execute();
  return rows.length === 1;
}

// ---- cards

export async function findCard(db: Db, cardNumber: string): Promise<CardRow | undefined> {
  return db.selectFrom('bank_cards').selectAll().where('card_number', '=', cardNumber).executeTakeFirst();
}

/** The card, created with the demo balance when this card number was never seen. */
export async function ensureCard(db: Db, cardNumber: string, currency: string, demoBalanceMinor: bigint): Promise<CardRow> {
  await db
    .insertInto('bank_cards')
    .values({ card_number: cardNumber, currency, balance_minor: demoBalanceMinor })
    .onConflict((oc) => oc.column('card_number').doNothing())
    .execute();
  return (await findCard(db, cardNumber))!;
}

/** Binds the card to the user unless someone else holds it; true when the user holds it now. */
export async function bindCard(db: Db, cardNumber: string, userNo: string, bankCode: string): Promise<boolean> {
  const rows = await db
    .updateTable('bank_cards')
    .set({ holder_user_no: userNo, bank_code: bankCode })
    .where('card_number', '=', cardNumber)
    .where((eb) => eb.or([eb('holder_user_no', 'is', null), eb('holder_user_no', '=', userNo)]))
    .returning('card_number')
    .execute();
  return rows.length === 1;
}

/**
 * BIND_CARD: binds a card nobody holds to the user, deciding under the card's
 * row lock; 'mine' when the user holds it already, 'taken' when someone else does.
 */
export async function bindFreeCard(tx: BankTx, cardNumber: string, userNo: string, bankCode: string): Promise<'bound' | 'mine' | 'taken'> {
  const card = await tx.selectFrom('bank_cards').selectAll().where('card_number', '=', cardNumber).forUpdate().executeTakeFirstOrThrow();
  if (card.holder_user_no === userNo) return 'mine';
  if (card.holder_user_no !== null) return 'taken';
  await tx.updateTable('bank_cards').set({ holder_user_no: userNo, bank_code: bankCode }).where('card_number', '=', cardNumber).execute();
  return 'bound';
}

/** UNBIND_CARD: the user no longer holds the card; false when they did not hold it. */
export async function unbindCard(db: Db, cardNumber: string, userNo: string): Promise<boolean> {
  const rows = await db
    .updateTable('bank_cards')
    .set({ holder_user_no: null })
    .where('card_number', '=', cardNumber)
    .where('holder_user_no', '=', userNo)
    .returning('card_number')
    .execute();
  return rows.length === 1;
}

export async function cardsOf(db: Db, userNo: string): Promise<CardRow[]> {
  return db.selectFrom('bank_cards').selectAll().where('holder_user_no', '=', userNo).orderBy('created_at').orderBy('card_number').execute();
}

export async function creditCard(db: Db, cardNumber: string, amountMinor: bigint): Promise<CardRow | undefined> {
  return db
    .updateTable('bank_cards')
    .set({ balance_minor: sql`balance_minor + ${amountMinor}` })
    .where('card_number', '=', cardNumber)
    .returningAll()
    .executeTakeFirst();
}

/** False (and nothing changed) when the card balance is too low. */
export async function debitCard(db: Db, cardNumber: string, amountMinor: bigint): Promise<boolean> {
  const rows = await db
    .updateTable('bank_cards')
    .set({ balance_minor: sql`balance_minor - ${amountMinor}` })
    .where('card_number', '=', cardNumber)
    .where('balance_minor', '>=', amountMinor)
    .returning('card_number')
    .execute();
  return rows.length === 1;
}

// ---- requests

export type NewRequest = Omit<RequestRow, 'created_at' | 'updated_at' | 'result_data' | 'error_code' | 'error_message' | 'status'>;

/** False when the request number was seen before (the unique key refuses a second one). */
export async function insertRequest(db: Db, request: NewRequest): Promise<boolean> {
  const rows = await db
    .insertInto('bank_requests')
    .values({ ...request, status: 'PENDING' })
    .onConflict((oc) => oc.columns(['platform_no', 'request_no']).doNothing())
    .returning('request_no')
    .execute();
  return rows.length === 1;
}

export async function findRequest(db: Db, platformNo: string, requestNo: string): Promise<RequestRow | undefined> {
  return db.selectFrom('bank_requests').selectAll().where('platform_no', '=', platformNo).where('request_no', '=', requestNo).executeTakeFirst();
}

/** Locks a still-PENDING request for the decision; undefined when it is final already. */
export async function lockPendingRequest(tx: BankTx, platformNo: string, requestNo: string): Promise<RequestRow | undefined> {
  return tx
    .selectFrom('bank_requests')
    .selectAll()
    .where('platform_no', '=', platformNo)
    .where('request_no', '=', requestNo)
    .where('status', '=', 'PENDING')
    .forUpdate()
    .executeTakeFirst();
}

export interface RequestOutcome {
  status: 'SUCCESS' | 'FAIL';
  errorCode: string | null;
  errorMessage: string | null;
  resultData: string;
  cardNumber: string | null;
}

/** The guarded transition PENDING -> SUCCESS | FAIL; false when another decision won. */
export async function finishRequest(tx: BankTx, platformNo: string, requestNo: string, outcome: RequestOutcome): Promise<boolean> {
  const rows = await tx
    .updateTable('bank_requests')
    .set({
      status: outcome.status,
      error_code: outcome.errorCode,
      error_message: outcome.errorMessage,
      result_data: outcome.resultData,
      card_number: outcome.cardNumber,
      updated_at: sql`now()`,
    })
    .where('platform_no', '=', platformNo)
    .where('request_no', '=', requestNo)
    .where('status', '=', 'PENDING')
    .returning('request_no')
    .execute();
  return rows.length === 1;
}

// ---- notifications

export type NewNotification = Pick<
  NotificationRow,
  'id' | 'platform_no' | 'request_no' | 'service_name' | 'status' | 'notify_url' | 'req_data' | 'signature'
> & { firstDelayMs: number };

export async function insertNotification(tx: BankTx, n: NewNotification): Promise<void> {
  const { firstDelayMs, ...row } = n;
  await tx
    .insertInto('bank_notifications')
    .values({ ...row, attempts: sql`'[]'::jsonb`, state: 'PENDING', next_attempt_at: sql`now() + make_interval(secs => ${firstDelayMs / 1000}::float8)` })
    .execute();
}

/**
 * Claims up to `limit` due notifications by pushing their next attempt past a
 * lease, so a second sender (another simulator on one server) skips them.
 */
export async function claimDueNotifications(db: BankDb, limit: number, leaseMs: number): Promise<NotificationRow[]> {
  const result = await sql<NotificationRow>`
    update bank_notifications set next_attempt_at = now() + make_interval(secs => ${leaseMs / 1000}::float8)
    where id in (
      select id from bank_notifications
      where state = 'PENDING' and next_attempt_at <= now()
      order by next_attempt_at, created_at
      limit ${limit}
      for update skip locked
    )
    returning *`.execute(db);
  return [...result.rows].sort((a, b) => a.next_attempt_at.getTime() - b.next_attempt_at.getTime() || a.created_at.getTime() - b.created_at.getTime());
}

/** Hands claimed but unsent notifications back (shutdown), so a restart sends them at once. */
export async function releaseClaims(db: BankDb, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('bank_notifications').set({ next_attempt_at: sql`now()` }).where('id', 'in', ids).where('state', '=', 'PENDING').execute();
}

export async function findNotification(db: Db, id: string): Promise<NotificationRow | undefined> {
  return db.selectFrom('bank_notifications').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listNotifications(
  db: Db,
  filter: { requestNo?: string | undefined; state?: DeliveryState | undefined },
  limit: number,
): Promise<NotificationRow[]> {
  let query = db.selectFrom('bank_notifications').selectAll();
  if (filter.requestNo !== undefined) query = query.where('request_no', '=', filter.requestNo);
  if (filter.state !== undefined) query = query.where('state', '=', filter.state);
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
}

/** Appends attempts and moves the delivery on: delivered, dead, or due again after `nextDelayMs`. */
export async function recordAttempts(
  db: Db,
  id: string,
  attempts: Attempt[],
  next: { state: 'DELIVERED' | 'DEAD' } | { state: 'PENDING'; nextDelayMs: number } | { state: 'UNCHANGED' },
): Promise<NotificationRow> {
  const appended = sql<string>`attempts || ${JSON.stringify(attempts)}::jsonb`;
  const base = db.updateTable('bank_notifications').where('id', '=', id);
  const query =
    next.state === 'UNCHANGED'
      ? base.set({ attempts: appended })
      : next.state === 'PENDING'
        ? base.set({ attempts: appended, next_attempt_at: sql`now() + make_interval(secs => ${next.nextDelayMs / 1000}::float8)` })
        : base.set({ attempts: appended, state: next.state });
  return query.returningAll().executeTakeFirstOrThrow();
}

/** An explicit resend that got OK delivers the notification whatever its state was. */
export async function markDelivered(db: Db, id: string): Promise<void> {
  await db.updateTable('bank_notifications').set({ state: 'DELIVERED' }).where('id', '=', id).execute();
}
