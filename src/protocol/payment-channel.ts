/**
 * The card payment channels between Coffer's payment core and the outside
 * (simulated in src/bank-simulator, each channel as if from its own provider).
 * Same keys and envelope as the depository protocol (./depository.ts): a request
 * is `{ platformNo, reqData, signature }` POSTed as JSON to
 * `/channels/{channelCode}/{operation}`, with reqData a JSON text and signature
 * = base64(RSA-SHA256(reqData)) by the platform's private key; the channel
 * answers `{ reqData, signature }` signed by the bank's private key. Coffer
 * believes nothing it has not verified.
 *
 * Operations:
 * - `SEND_SMS` (quick pay only): the channel texts its own code to the card's
 *   mobile for this payment attempt. Answers SMS_SENT or FAILED.
 * - `CONFIRM` (quick pay only): the code the user typed; the channel checks it
 *   and debits the card. Answers a ChannelPaymentResult.
 * - `DEBIT` (direct debit only): debits the card with no code at the channel
 *   (Coffer checked its own SMS code first). Answers a ChannelPaymentResult.
 * - `QUERY`: where an attempt stands (NOT_FOUND for one the channel never had).
 *
 * `attemptNo` is Coffer's id for one try at one channel: the channel's
 * idempotency key. CONFIRM or DEBIT with an attemptNo it already has answers the
 * current state and never debits twice (other content under the same
 * attemptNo: HTTP 409). A payment whose answer never came (a time-out) is
 * settled by QUERY, never by trying another channel.
 *
 * Error classification (ChannelPaymentResult.retryable): a channel-side
 * problem (CHANNEL_UNAVAILABLE, CHANNEL_BUSY) is retryable on another channel;
 * a card-side one (CARD_DECLINED, INSUFFICIENT_FUNDS, SMS_CODE_INVALID,
 * SMS_CODE_EXPIRED, CARD_NOT_SUPPORTED, AMOUNT_OUT_OF_RANGE) is not.
 * A channel that is down answers HTTP 503 with a signed FAILED result,
 * errorCode CHANNEL_UNAVAILABLE, retryable true.
 */
export const channelOperations = ['SEND_SMS', 'CONFIRM', 'DEBIT', 'QUERY'] as const;
export type ChannelOperation = (typeof channelOperations)[number];

export const channelKinds = ['QUICK_PAY', 'DIRECT_DEBIT'] as const;
export type ChannelKind = (typeof channelKinds)[number];

/** The simulator's channels: two quick-pay providers and one direct-debit provider. */
export const simulatedChannels = [
  { code: 'QP_ALPHA', kind: 'QUICK_PAY', provider: 'Alpha Payments' },
  { code: 'QP_BETA', kind: 'QUICK_PAY', provider: 'Beta Pay' },
  { code: 'DD_GAMMA', kind: 'DIRECT_DEBIT', provider: 'Gamma Clearing' },
] as const satisfies readonly { code: string; kind: ChannelKind; provider: string }[];
export type SimulatedChannelCode = (typeof simulatedChannels)[number]['code'];

export interface ChannelCard {
  /** The full card number (PAN); only masked anywhere it is shown or logged. */
  number: string;
  holderName: string;
  /** Where SEND_SMS texts the channel's code. */
  mobile: string;
  bankCode: string;
}

/** Coffer -> channel: text a code for this attempt (quick pay). */
export interface SendSmsData {
  attemptNo: string;
  /** Decimal string in `currency`: what the card will be debited. */
  amount: string;
  currency: string;
  card: ChannelCard;
  timestamp: string;
}

export interface SendSmsResultData {
  attemptNo: string;
  status: 'SMS_SENT' | 'FAILED';
  errorCode?: string;
  errorMessage?: string;
  retryable?: boolean;
  timestamp: string;
}

/** Coffer -> channel: the user's code for an attempt whose SMS the channel sent (quick pay). */
export interface ConfirmData {
  attemptNo: string;
  smsCode: string;
  timestamp: string;
}

/** Coffer -> channel: debit this card now (direct debit). */
export interface DebitData {
  attemptNo: string;
  amount: string;
  currency: string;
  card: ChannelCard;
  timestamp: string;
}

export interface QueryData {
  attemptNo: string;
  timestamp: string;
}

export const channelPaymentStatuses = ['SUCCESS', 'FAIL', 'PROCESSING', 'NOT_FOUND'] as const;
export type ChannelPaymentStatus = (typeof channelPaymentStatuses)[number];

/** Channel -> Coffer: the answer to CONFIRM, DEBIT and QUERY. */
export interface ChannelPaymentResult {
  attemptNo: string;
  status: ChannelPaymentStatus;
  amount?: string;
  currency?: string;
  /** The channel's own reference for the debit. */
  channelRef?: string;
  errorCode?: string;
  errorMessage?: string;
  /** FAIL only: may another channel be tried for the same payment? */
  retryable?: boolean;
  timestamp: string;
}

/**
 * Sandbox cards (like test card numbers), by the last four digits:
 * 0051 is declined for insufficient funds, 0069 is declined as stolen
 * (CARD_DECLINED); any other number is debited.
 */
export function sandboxCardOutcome(cardNumber: string): 'debit' | 'insufficient-funds' | 'declined' {
  if (cardNumber.endsWith('0051')) return 'insufficient-funds';
  if (cardNumber.endsWith('0069')) return 'declined';
  return 'debit';
}
