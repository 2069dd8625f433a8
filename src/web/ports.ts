/**
 * What the web UI needs from the rest of Coffer, as two small ports. The UI
 * never reaches into a module's tables or routes' internals: `index.ts` wires
 * these to the users and wallets modules' public services (or, where a service
 * is not there yet, to their contract HTTP API in-process). Tests feed fakes.
 *
 * Failures are thrown as DomainError with a catalogue code; the UI turns the
 * code into a message (messages.ts).
 */
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
}
