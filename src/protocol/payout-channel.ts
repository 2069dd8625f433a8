/**
 * The payout channel between Coffer and the bank (simulated in src/bank-simulator).
 * Same keys and signatures as the depository protocol (./depository.ts): every
 * message is `{ platformNo, reqData, signature }` with reqData a JSON text and
 * signature = base64(RSA-SHA256(reqData)) by the sender's private key.
 *
 * - Order: Coffer POSTs a PayoutOrderData to the bank's `/payouts`. The bank
 *   answers a signed PayoutResultData at once: usually PROCESSING, or a final
 *   status when it knows one. The same payoutId again is never paid twice: the
 *   bank answers its current state (other content under the same id: 409).
 * - Result: the bank notifies each final status, and a later reversal, as a GET
 *   to the order's notifyUrl with `serviceName=PAYOUT&platformNo&signature&reqData`
 *   (exactly like a depository notification), retried until the body `OK`.
 * - Query: `POST /service` with serviceName QUERY_PAYOUT and `{ payoutId, timestamp }`
 *   answers a signed PayoutResultData (status NOT_FOUND for an id it never had).
 *   An order whose answer never came (a time-out) is settled by querying it,
 *   never by sending it again elsewhere.
 */
export const PAYOUT_NOTIFICATION = 'PAYOUT';
export const QUERY_PAYOUT = 'QUERY_PAYOUT';

export interface PayoutBeneficiary {
  name: string;
  accountNo: string;
  bankCode: string;
}

/** Coffer -> bank: pay this beneficiary. */
export interface PayoutOrderData {
  /** Coffer's payout id: the bank's idempotency key for the order. */
  payoutId: string;
  /** Decimal string in `currency`. */
  amount: string;
  currency: string;
  beneficiary: PayoutBeneficiary;
  /** Where the bank sends its signed results. */
  notifyUrl: string;
  timestamp: string;
}

export const channelPayoutStatuses = ['PROCESSING', 'SUCCEEDED', 'FAILED', 'REVERSED'] as const;
export type ChannelPayoutStatus = (typeof channelPayoutStatuses)[number];

/** Bank -> Coffer: where a payout stands (order answer, notification and query answer alike). */
export interface PayoutResultData {
  payoutId: string;
  status: ChannelPayoutStatus | 'NOT_FOUND';
  amount?: string;
  currency?: string;
  /** The bank's own reference for the payment. */
  channelRef?: string;
  /** FAILED (and REVERSED): why. */
  errorCode?: string;
  errorMessage?: string;
  timestamp: string;
}

export interface QueryPayoutData {
  payoutId: string;
  timestamp: string;
}

/**
 * Sandbox beneficiaries (SPEC 5), by the last four digits of the account number:
 * 0002 fails with ACCOUNT_CLOSED, 0003 succeeds and is reversed a little later,
 * 0004 times out at the channel until it is queried (then succeeds); any other
 * number succeeds.
 */
export type SandboxPayoutOutcome = 'succeed' | 'fail' | 'timeout' | 'reverse';

export function sandboxOutcomeOf(accountNo: string): SandboxPayoutOutcome {
  if (accountNo.endsWith('0002')) return 'fail';
  if (accountNo.endsWith('0003')) return 'reverse';
  if (accountNo.endsWith('0004')) return 'timeout';
  return 'succeed';
}
