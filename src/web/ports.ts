/**
 * What the web UI needs from the rest of Coffer, as two small ports. The UI
 * never reaches into a module's tables or routes' internals: `index.ts` wires
 * these to the users and wallets modules' public services (or, where a service
 * is not there yet, to their contract HTTP API in-process). Tests feed fakes.
 *
 * Failures are thrown as DomainError with a catalogue code; the UI turns the
 * code into a message (messages.ts).
 */
import type { PayoutView } from '../modules/payouts/index.ts';
import type { GatewayRequest } from '../protocol/depository.ts';

/** The logged-in person, as the UI shows them. */
export interface UiUser {
  id: string;
  mobile: string;
  status: 'ACTIVE' | 'FROZEN' | string;
}

export interface UiSession {
  /** The opaque session token: the `coffer_session` cookie's value and the API's bearer token. */
  token: string;
  expiresAt: Date;
}

export interface WebUsers {
  /** Throws DomainError (e.g. VALIDATION_FAILED with `errors`, or a taken mobile). */
  register(mobile: string, password: string): Promise<void>;
  /** Throws DomainError on wrong credentials or a locked account. */
  login(mobile: string, password: string): Promise<UiSession>;
  /** Revokes the session; a no-op for an unknown or expired token. */
  logout(token: string): Promise<void>;
  /** The user behind a live session, or undefined. */
  userForSession(token: string): Promise<UiUser | undefined>;
}

/** SPEC 3 `GET /my/wallets` row; money as decimal strings. */
export interface UiWallet {
  accountNo: string;
  currency: string;
  balance: string;
  available: string;
  pending: string;
  status: string;
}

/** One recharge or withdraw record, whatever the module calls its fields. */
export interface UiRecord {
  /** The record's id (also the paging cursor). */
  id: string;
  /** The request number the bank knows it by. */
  requestNo: string;
  amount: string;
  currency?: string | undefined;
  status: string;
  createdAt?: string | undefined;
  detail?: string | undefined;
}

/** One bill entry (SPEC 2 entries). */
export interface UiEntry {
  id: string;
  code: string;
  direction: string;
  amount: string;
  currency?: string | undefined;
  balanceAfter?: string | undefined;
  createdAt?: string | undefined;
}

export interface UiCard {
  id: string;
  cardNumberMasked: string;
  bankCode?: string | undefined;
}

export interface UiPage<T> {
  data: T[];
  hasMore: boolean;
}

export interface PageQuery {
  limit: number;
  startingAfter?: string | undefined;
}

/**
 * The wallet side. Every call acts for the user holding `session` (the same
 * token the JSON API takes as a bearer token).
 */
export interface WebWallets {
  wallets(session: string): Promise<UiWallet[]>;
  /** Starts PERSONAL_REGISTER; throws ACCOUNT_ALREADY_OPENED when done before. */
  openDepositoryAccount(session: string, callbackUrl: string): Promise<GatewayRequest>;
  recharge(session: string, amount: string, callbackUrl: string): Promise<GatewayRequest>;
  withdraw(session: string, amount: string, callbackUrl: string): Promise<UiWithdrawStep>;
  /** The SMS code of a withdrawal risk control held back. */
  verifyWithdraw(session: string, id: string, code: string): Promise<UiWithdrawStep>;
  /** A reviewed (READY) withdrawal goes on to the bank. */
  continueWithdraw(session: string, id: string): Promise<GatewayRequest>;
  rechargeRecords(session: string, page: PageQuery): Promise<UiPage<UiRecord>>;
  withdrawRecords(session: string, page: PageQuery): Promise<UiPage<UiRecord>>;
  entries(session: string, page: PageQuery): Promise<UiPage<UiEntry>>;
  cards(session: string): Promise<UiCard[]>;
  /** Starts BIND_CARD (add a card at the bank); throws ACCOUNT_NOT_OPENED without a depository account. */
  bindCard(session: string, callbackUrl: string): Promise<GatewayRequest>;
  /** Removes one of the user's cards; throws CARD_NOT_FOUND or CARD_IN_USE. */
  removeCard(session: string, cardId: string): Promise<void>;
}

/** What a withdrawal answers: the bank form, or the checks risk control asks for first (SPEC 6). */
export type UiWithdrawStep =
  | { kind: 'gateway'; gateway: GatewayRequest }
  | { kind: 'check'; id: string; amount: string; status: string; verification: string[] };

export interface WebPorts {
  users: WebUsers;
  /** Absent until the wallets module is wired: the wallet pages then say so. */
  wallets?: WebWallets | undefined;
  /** Operator logins for the admin console and the merchant portal; absent: those pages are off. */
  operators?: WebOperators | undefined;
  portal?: WebPortal | undefined;
  /** Batch payouts and reconciliation files: absent, their pages answer 503 (e.g. in tests that wire only some ports). */
  batches?: WebBatches | undefined;
  reconciliation?: WebReconciliation | undefined;
  /** Savings products and holdings (SPEC 7); absent, their pages answer 503. */
  products?: WebProducts | undefined;
  /** Card payments, payment cards and coupons (SPEC 8); absent, their pages answer 503. */
  payments?: WebPayments | undefined;
}

// ---- operators: the admin console and the merchant portal ---------------------------------------

export type UiOperatorRole = 'admin' | 'maker' | 'checker' | 'viewer';

export interface UiOperator {
  id: string;
  username: string;
  role: UiOperatorRole;
  /** The merchant a maker, checker or viewer works for; null for platform operators. */
  merchantId: string | null;
}

export interface WebOperators {
  /** Throws DomainError INVALID_OPERATOR_CREDENTIALS or ACCOUNT_LOCKED (the service's lockout). */
  login(username: string, password: string, requestId: string): Promise<UiSession>;
  logout(token: string): Promise<void>;
  operatorForSession(token: string): Promise<UiOperator | undefined>;
}

/** Who does a portal action: the services write it into their audit rows. */
export interface UiActor {
  operatorId: string;
  requestId: string;
}

export interface UiMerchant {
  id: string;
  name: string;
  status: string;
  products: string[];
}

/** A settlement account's balances, money as decimal strings. */
export interface UiBalance {
  accountNo: string;
  currency: string;
  balance: string;
  available: string;
  pending: string;
  status: string;
}

export interface UiApiKey {
  id: string;
  role: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface UiDeliveryAttempt {
  attempt: number;
  at: string;
  durationMs: number;
  httpStatus: number | null;
  error: string | null;
  responseBody: string | null;
}

export interface UiDelivery {
  id: string;
  eventId: string;
  eventType: string;
  url: string;
  status: string;
  attemptCount: number;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
  attempts: UiDeliveryAttempt[];
}

export interface FilteredPageQuery extends PageQuery {
  status?: string | undefined;
}

/** The merchant portal's reads and writes, always for one merchant (the operator's). */
export interface WebPortal {
  merchant(merchantId: string): Promise<UiMerchant>;
  balances(merchantId: string): Promise<UiBalance[]>;
  /** Entries of the merchant's settlement account in `currency`, newest first. */
  entries(merchantId: string, currency: string, page: PageQuery): Promise<UiPage<UiEntry>>;
  apiKeys(merchantId: string): Promise<UiApiKey[]>;
  /** The secret is in this answer only. */
  createApiKey(merchantId: string, role: 'maker' | 'checker', actor: UiActor): Promise<{ key: UiApiKey; secret: string }>;
  revokeApiKey(merchantId: string, keyId: string, actor: UiActor): Promise<UiApiKey>;
  payouts(merchantId: string, query: FilteredPageQuery): Promise<UiPage<PayoutView>>;
  payout(merchantId: string, id: string): Promise<PayoutView>;
  deliveries(merchantId: string, query: FilteredPageQuery): Promise<UiPage<UiDelivery>>;
  resendDelivery(merchantId: string, id: string, actor: UiActor): Promise<UiDelivery>;
}

export interface UiBatchStatusLine {
  status: string;
  count: number;
  amount: string;
  fee?: string | undefined;
}

export interface UiBatch {
  id: string;
  status: string;
  count: number;
  totalAmount: string;
  currency?: string | undefined;
  createdAt?: string | undefined;
  /** Who made it: `operator:<id>` or `apiKey:<id>`; the portal hides Approve from them. */
  createdBy?: string | undefined;
  decidedBy?: string | undefined;
  byStatus: UiBatchStatusLine[];
}

/** The payout-batches module (SPEC 5 batch payouts), for one merchant. */
export interface WebBatches {
  /** Throws DomainError whose details carry `errors: [{line, reason}]` when any row is bad (nothing made). */
  create(merchantId: string, csv: string, actor: UiActor): Promise<UiBatch>;
  list(merchantId: string, query: FilteredPageQuery): Promise<UiPage<UiBatch>>;
  get(merchantId: string, batchId: string): Promise<UiBatch>;
  approve(merchantId: string, batchId: string, actor: UiActor): Promise<UiBatch>;
  reject(merchantId: string, batchId: string, actor: UiActor, reason?: string): Promise<UiBatch>;
  /** The per-row results file (each input row with its payout id, status and error), streamed. */
  resultsCsv(merchantId: string, batchId: string): Promise<AsyncIterable<string> | string>;
}

export interface UiReconciliationDay {
  date: string;
  closed: boolean;
  lines: number;
}

/** The reconciliation module's daily files, for one merchant. */
export interface WebReconciliation {
  days(merchantId: string, query: { limit: number }): Promise<UiReconciliationDay[]>;
  file(merchantId: string, date: string): Promise<{ csv: string; closed: boolean; sha256?: string | undefined }>;
}

// ---- savings products and card payments (SPEC 7, 8) ---------------------------------------------

/** A savings product; money as decimal strings, `annualRate` in percent ("3.65"). */
export interface UiProduct {
  id: string;
  code: string;
  name: string;
  currency: string;
  annualRate: string;
  termDays: number;
  minAmount: string;
  stepAmount: string;
  totalAmount: string;
  raisedAmount: string;
  status: string;
  /** What can still be bought (the total less paid and reserved orders). */
  remainingAmount: string;
  dayCount: string;
  acceptorBank: string | null;
  saleStart: string | null;
  saleEnd: string | null;
  onShelf: boolean;
  version: number;
}

export interface UiProductPage {
  data: UiProduct[];
  page: number;
  size: number;
  total: number;
}

export interface UiQuote {
  amount: string;
  interest: string;
  valueDate: string;
  maturityDate: string;
  maturityAmount: string;
}

export type UiPayWith = 'WALLET' | 'CARD';

/** One subscription order (a holding). */
export interface UiHolding {
  id: string;
  productId: string;
  productCode: string;
  productName: string;
  amount: string;
  currency: string;
  annualRate: string;
  interest: string;
  maturityAmount: string;
  valueDate: string;
  maturityDate: string;
  earnedToDate: string;
  status: string;
  payWith: string;
  payOrderNo?: string | undefined;
  expiresAt?: string | undefined;
  /** Why a card order was cancelled (its payment failed or expired). */
  errorCode?: string | undefined;
  createdAt: string;
}

export interface WebProducts {
  /** On-shelf products, `page` from 1. */
  list(session: string, page: number, size: number): Promise<UiProductPage>;
  /** Throws NOT_FOUND (or the module's own code) for an unknown or off-shelf product. */
  product(session: string, idOrCode: string): Promise<UiProduct>;
  quote(session: string, idOrCode: string, amount: string): Promise<UiQuote>;
  /** WALLET: PAID at once; CARD: AWAITING_PAYMENT with its `payOrderNo`. */
  subscribe(session: string, order: { productId: string; amount: string; payWith: UiPayWith }, idempotencyKey?: string): Promise<UiHolding>;
  /** Newest first. */
  holdings(session: string, page: PageQuery): Promise<UiPage<UiHolding>>;
}

export interface UiPayment {
  payOrderNo: string;
  businessType: string;
  businessOrderNo: string;
  description: string;
  amount: string;
  discount: string;
  payable: string;
  currency: string;
  method: string | null;
  status: 'DOING' | 'SUCCESS' | 'FAIL' | string;
  step: string;
  /** CHANNEL: the quick-pay channel texted the code; COFFER: Coffer's own SMS, after the fallback to direct debit. */
  smsSentBy: 'CHANNEL' | 'COFFER' | null;
  mobileMasked?: string | undefined;
  cardId?: string | undefined;
  couponId?: string | undefined;
  channel?: string | undefined;
  errorCode?: string | undefined;
  errorMessage?: string | undefined;
  expiresAt: string;
}

/** A card the user pays with (quick pay, direct debit): never shown whole. */
export interface UiPaymentCard {
  id: string;
  cardNumberMasked: string;
  bankCode: string;
  holderName: string;
  mobileMasked: string;
  createdAt?: string | undefined;
}

export interface UiNewPaymentCard {
  cardNumber: string;
  holderName: string;
  mobile: string;
  bankCode: string;
}

export interface UiCoupon {
  id: string;
  amountOff: string;
  minSpend: string;
  currency: string;
  expiresAt: string;
  status: string;
  payOrderNo?: string | undefined;
}

export interface WebPayments {
  payment(session: string, payOrderNo: string): Promise<UiPayment>;
  cards(session: string): Promise<UiPaymentCard[]>;
  addCard(session: string, card: UiNewPaymentCard): Promise<UiPaymentCard>;
  removeCard(session: string, cardId: string): Promise<void>;
  coupons(session: string, status?: string): Promise<UiCoupon[]>;
  /** Sends (or re-sends) the code; the answer says who sent it. */
  sendSms(session: string, payOrderNo: string, choice: { cardId: string; couponId?: string | undefined }): Promise<UiPayment>;
  confirm(session: string, payOrderNo: string, smsCode: string): Promise<UiPayment>;
}
