/**
 * The one catalogue of error codes Coffer returns. Services throw DomainError
 * with a code from here; the HTTP edge picks the status from this table, so a
 * service never chooses an HTTP status.
 */
export const errorCatalogue = {
  VALIDATION_FAILED: { status: 400, title: 'The request is not valid' },
  INVALID_AMOUNT: { status: 400, title: 'The amount is not a valid amount for its currency' },
  UNSUPPORTED_CURRENCY: { status: 400, title: 'The currency is not supported' },
  CURRENCY_MISMATCH: { status: 422, title: 'The accounts or amounts are in different currencies' },
  SAME_ACCOUNT: { status: 422, title: 'A transfer must move money between two different accounts' },
  UNAUTHORIZED: { status: 401, title: 'Authentication is required' },
  FORBIDDEN: { status: 403, title: 'This credential may not do that' },
  NOT_FOUND: { status: 404, title: 'No such resource' },
  ACCOUNT_NOT_FOUND: { status: 404, title: 'No such ledger account' },
  ACCOUNT_ALREADY_EXISTS: { status: 409, title: 'An account of that owner, type and currency already exists' },
  ACCOUNT_FROZEN: { status: 409, title: 'The account is frozen and accepts no debits' },
  ACCOUNT_CLOSED: { status: 409, title: 'The account is closed' },
  INSUFFICIENT_FUNDS: { status: 409, title: 'The available balance is too low' },
  TRANSFER_ID_CONFLICT: { status: 409, title: 'A transfer with this id exists with different content' },
  TRANSFER_NOT_FOUND: { status: 404, title: 'No such transfer' },
  PENDING_TRANSFER_NOT_FOUND: { status: 404, title: 'No such pending transfer' },
  PENDING_TRANSFER_ALREADY_FINAL: { status: 409, title: 'The pending transfer was already posted, voided or expired' },
  PENDING_TRANSFER_EXPIRED: { status: 409, title: 'The pending transfer timed out and was voided' },
  POST_EXCEEDS_PENDING: { status: 422, title: 'Posting more than the pending transfer holds' },
  BALANCE_OVERFLOW: { status: 422, title: 'The account total would exceed what the ledger can store' },
  DUPLICATE_REQUEST: { status: 409, title: 'The request was already made' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'The service is not ready' },
  INTERNAL_ERROR: { status: 500, title: 'Something went wrong on our side' },
  MALFORMED_BODY: { status: 400, title: 'The request body could not be parsed' },
  MALFORMED_REQUEST: { status: 400, title: 'The request could not be understood' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The request body has a content type this endpoint does not accept' },
  // Depository gateway and wallets (SPEC 3, 4)
  INVALID_SIGNATURE: { status: 401, title: 'The signature is missing or does not verify' },
  UNKNOWN_PLATFORM: { status: 400, title: 'The platform number is not this platform' },
  UNKNOWN_SERVICE: { status: 400, title: 'The depository service name is not known' },
  MALFORMED_NOTIFICATION: { status: 400, title: 'The depository message could not be understood' },
  DEPOSITORY_REQUEST_NOT_FOUND: { status: 404, title: 'No depository transaction has this request number' },
  NOTIFICATION_MISMATCH: { status: 422, title: 'The depository message does not match the transaction record' },
  ACCOUNT_NOT_OPENED: { status: 409, title: 'Open a depository account first' },
  ACCOUNT_ALREADY_OPENED: { status: 409, title: 'The depository account is already open' },
  WITHDRAW_NOT_AWAITING: { status: 409, title: 'The withdrawal is not waiting for that step' },
  CARD_NOT_FOUND: { status: 404, title: 'No such bound card' },
  CARD_IN_USE: { status: 409, title: 'A withdrawal in progress pays out to this card: remove it once that is finished' },
  CARD_NOT_BOUND: { status: 409, title: 'No bound debit card: add one first' },
  // Users and authentication (SPEC 3)
  MOBILE_ALREADY_REGISTERED: { status: 409, title: 'This mobile number is already registered' },
  INVALID_CREDENTIALS: { status: 401, title: 'The mobile number or password is wrong' },
  ACCOUNT_LOCKED: { status: 423, title: 'Too many wrong passwords: the login is locked for a while' },
  USER_FROZEN: { status: 403, title: 'The user is frozen: they can look, but not move money' },
  USER_NOT_FOUND: { status: 404, title: 'No such user' },
  // Idempotency-Key on POST routes (SPEC 5, 9)
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'This Idempotency-Key was already used with another request' },
  IDEMPOTENCY_KEY_IN_USE: { status: 409, title: 'A request with this Idempotency-Key is still being processed' },
  // Merchants, API keys and request signing (SPEC 5)
  MERCHANT_NOT_FOUND: { status: 404, title: 'No such merchant' },
  MERCHANT_NOT_ACTIVE: { status: 403, title: 'The merchant is not active' },
  PRODUCT_NOT_ENABLED: { status: 403, title: 'The merchant has not enabled this product' },
  MERCHANT_STATUS_CONFLICT: { status: 409, title: 'The merchant cannot move to that status from its current one' },
  API_KEY_NOT_FOUND: { status: 404, title: 'No such API key for this merchant' },
  MERCHANT_AUTH_REQUIRED: { status: 401, title: 'Send X-Coffer-Key, X-Coffer-Timestamp and X-Coffer-Signature' },
  API_KEY_UNKNOWN: { status: 401, title: 'The API key is not known' },
  API_KEY_REVOKED: { status: 401, title: 'The API key was revoked' },
  TIMESTAMP_OUT_OF_WINDOW: { status: 401, title: 'The request timestamp is too old or too far in the future' },
  REPLAYED_REQUEST: { status: 401, title: 'This signed request was already received' },
  MERCHANT_SUSPENDED: { status: 401, title: 'The merchant is suspended' },
  // Operators (SPEC 5)
  OPERATOR_ALREADY_EXISTS: { status: 409, title: 'An operator with this username exists' },
  OPERATOR_NOT_FOUND: { status: 404, title: 'No such operator' },
  INVALID_OPERATOR_CREDENTIALS: { status: 401, title: 'The username or password is wrong' },
  // SMS one-time codes (SPEC 6)
  SMS_CHALLENGE_NOT_FOUND: { status: 404, title: 'No such SMS code challenge for this purpose and subject' },
  SMS_CODE_INVALID: { status: 422, title: 'The SMS code is wrong' },
  SMS_CODE_EXPIRED: { status: 422, title: 'The SMS code has expired (or a newer one was sent): ask for a new one' },
  SMS_CODE_ATTEMPTS_EXCEEDED: { status: 422, title: 'Too many wrong SMS codes: ask for a new one' },
  SMS_CODE_ALREADY_USED: { status: 409, title: 'The SMS code was already used' },
  SMS_RESEND_TOO_SOON: { status: 429, title: 'A code was sent moments ago: wait before asking for another' },
  // Risk (SPEC 6)
  RISK_REJECTED: { status: 403, title: 'Refused by risk control' },
  RISK_RULE_NOT_FOUND: { status: 404, title: 'No such risk rule' },
  RISK_RULE_VERSION_CONFLICT: { status: 409, title: 'The risk rule was changed meanwhile: reload it and edit again' },
  RISK_BLACKLIST_ENTRY_NOT_FOUND: { status: 404, title: 'No such blacklist entry' },
  RISK_DECISION_NOT_FOUND: { status: 404, title: 'No such risk decision' },
  RISK_NOT_UNDER_REVIEW: { status: 409, title: 'The risk decision does not await a manual review' },
  RISK_REVIEW_ALREADY_DECIDED: { status: 409, title: 'The review already has the other final answer' },
  // Payouts (SPEC 5)
  PAYOUT_NOT_FOUND: { status: 404, title: 'No such payout' },
  DUPLICATE_MERCHANT_ORDER_NO: { status: 409, title: 'A payout with this merchantOrderNo exists already (its id is in payoutId)' },
  PAYOUT_RESULT_MISMATCH: { status: 422, title: 'The payout channel message does not match the payout' },
  MALFORMED_PAYOUT_RESULT: { status: 400, title: 'The payout channel message could not be understood' },
  // Webhooks (SPEC 5)
  INVALID_WEBHOOK_URL: { status: 400, title: 'The webhook URL must be an http(s) URL of at most 2048 characters, without credentials' },
  WEBHOOK_ENDPOINT_NOT_FOUND: { status: 404, title: 'No such webhook endpoint for this merchant' },
  WEBHOOK_ENDPOINT_LIMIT: { status: 409, title: 'The merchant has as many webhook endpoints as allowed: delete one first' },
  WEBHOOK_DELIVERY_NOT_FOUND: { status: 404, title: 'No such webhook delivery for this merchant' },
  WEBHOOK_DELIVERY_CANCELLED: { status: 409, title: 'The delivery was cancelled with its endpoint: it cannot be sent again' },
  WEBHOOK_DELIVERY_IN_FLIGHT: { status: 409, title: 'An attempt of this delivery is under way: try again in a moment' },
  // Reconciliation files (SPEC 5)
  RECONCILIATION_DATE_INVALID: { status: 400, title: 'The date must be a calendar day written yyyy-mm-dd (UTC)' },
  RECONCILIATION_DAY_NOT_STARTED: { status: 422, title: 'That day has not begun yet: there is no file for it' },
  // Three-way settlement check (README "Three-way reconciliation")
  SETTLEMENT_CHECK_RUNNING: { status: 409, title: 'That day is being checked right now; ask again in a moment' },
  SETTLEMENT_CHECK_DAY_NOT_STARTED: { status: 422, title: 'That day has not begun yet: there is nothing to check' },
  BANK_STATEMENT_UNVERIFIED: { status: 502, title: "The bank's statement is not signed by the bank (or is not the one asked for): it is not believed" },
  // Batch payouts (SPEC 5)
  PAYOUT_BATCH_INVALID: { status: 422, title: 'The batch file has lines in error (each in errors[] with its line and reason): nothing was created' },
  PAYOUT_BATCH_TOO_LARGE: { status: 413, title: 'The batch file has more rows than a batch may have: split it' },
  PAYOUT_BATCH_NOT_FOUND: { status: 404, title: 'No such payout batch for this merchant' },
  PAYOUT_BATCH_CHECKER_REQUIRED: { status: 403, title: 'Only a checker (an API key or operator with the checker role) may approve or reject a batch' },
  PAYOUT_BATCH_OWN_BATCH: { status: 403, title: 'Whoever created a batch cannot approve or reject it' },
  PAYOUT_BATCH_NOT_AWAITING_APPROVAL: { status: 409, title: 'The batch is not awaiting approval' },
  // Payment core (SPEC 8)
  PAYMENT_NOT_FOUND: { status: 404, title: 'No such payment' },
  PAYMENT_CONFLICT: { status: 409, title: 'The business order has a payment with other content (its payOrderNo is in payOrderNo)' },
  PAYMENT_FINISHED: { status: 409, title: 'The payment is final already' },
  PAYMENT_EXPIRED: { status: 409, title: 'The payment expired before it was confirmed' },
  PAYMENT_IN_PROGRESS: { status: 409, title: 'The payment is being confirmed at a channel: look again in a moment' },
  PAYMENT_SMS_NOT_SENT: { status: 409, title: 'Send the SMS code for this payment first' },
  PAYMENT_CHANNEL_UNAVAILABLE: { status: 503, title: 'The payment channel could not take the payment now: send the SMS again' },
  CARD_NUMBER_INVALID: { status: 400, title: 'The card number is not a valid card number (12-19 digits passing the Luhn check)' },
  PAYMENT_CARD_NOT_FOUND: { status: 404, title: 'No such payment card' },
  COUPON_NOT_FOUND: { status: 404, title: 'No such coupon' },
  COUPON_NOT_AVAILABLE: { status: 409, title: 'The coupon is used or locked by another payment' },
  COUPON_EXPIRED: { status: 422, title: 'The coupon has expired' },
  COUPON_MIN_SPEND_NOT_MET: { status: 422, title: 'The payment is below the coupon\'s minimum spend' },
  COUPON_CURRENCY_MISMATCH: { status: 422, title: 'The coupon is in another currency than the payment' },
  CHANNEL_NOT_FOUND: { status: 404, title: 'No such payment channel' },
  CHANNEL_VERSION_CONFLICT: { status: 409, title: 'The channel was changed meanwhile: reload it and edit again' },
  // Savings products and subscriptions (SPEC 7)
  PRODUCT_NOT_FOUND: { status: 404, title: 'No such product (or it is not on the shelf)' },
  PRODUCT_CODE_TAKEN: { status: 409, title: 'A product with this code exists already' },
  PRODUCT_NOT_EDITABLE: { status: 409, title: 'The product can only be edited while nobody has bought into it and it has not ended' },
  PRODUCT_VERSION_CONFLICT: { status: 409, title: 'The product was changed meanwhile: reload it and edit again' },
  PRODUCT_OFF_SHELF: { status: 409, title: 'The product is not on the shelf' },
  PRODUCT_NOT_ON_SALE: { status: 409, title: 'The product is not on sale yet (presale)' },
  PRODUCT_ENDED: { status: 409, title: 'The product sale has ended' },
  PRODUCT_SOLD_OUT: { status: 409, title: 'The product is sold out' },
  PRODUCT_QUOTA_EXCEEDED: { status: 409, title: 'Less of the product is left than the amount asked for (remaining says how much)' },
  AMOUNT_BELOW_MINIMUM: { status: 422, title: "The amount is below the product's minimum" },
  AMOUNT_NOT_A_STEP_MULTIPLE: { status: 422, title: 'The amount must be the minimum plus a whole number of steps' },
  PAY_METHOD_UNAVAILABLE: { status: 422, title: 'This payment method is not available' },
  SUBSCRIPTION_NOT_FOUND: { status: 404, title: 'No such subscription of yours' },
  // Wallet accounts, transaction orders and card top-ups (issue 7)
  ACCOUNT_TYPE_NOT_OPENABLE: { status: 422, title: 'You cannot open an account of that type yourself (WALLET only)' },
  WALLET_NOT_OPENED: { status: 409, title: 'You have no wallet in that currency yet: open one first (POST /my/accounts)' },
  CURRENCY_NOT_PAYABLE_BY_CARD: { status: 422, title: 'No card payment channel takes that currency' },
  CURRENCY_HELD_AT_DEPOSITORY: { status: 422, title: 'Money in the depository currency is held at the bank: top it up by bank recharge' },
  ORDER_NOT_FOUND: { status: 404, title: 'No such transaction order of yours' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

/**
 * The codes a record's `errorCode` field can hold once it failed (a recharge,
 * withdrawal, payout, payment, subscription...). They are outcomes, not HTTP
 * errors: the request that asked for the record succeeded, the money movement
 * did not. `coffer` codes are Coffer's own; `bank` and `channel` codes are
 * passed through as the bank depository, the payout channel or a payment
 * channel sent them. A code that is also a problem code means the same thing.
 */
export const outcomeCatalogue = {
  // Coffer's own
  REQUEST_EXPIRED: { source: 'coffer', title: 'The request was not confirmed at the bank in time and expired' },
  VERIFICATION_EXPIRED: { source: 'coffer', title: 'The SMS or review step was not completed in time' },
  RISK_REJECTED: { source: 'coffer', title: 'Refused by risk control' },
  RISK_REVIEW_REJECTED: { source: 'coffer', title: 'A risk reviewer rejected the request' },
  CARD_NOT_FOUND: { source: 'coffer', title: 'The card was removed before the money moved' },
  NO_CHANNEL_AVAILABLE: { source: 'coffer', title: 'No payment channel could take the payment' },
  CHANNEL_UNREACHABLE: { source: 'coffer', title: 'The channel could not be reached; nothing was sent to it' },
  CHANNEL_NOT_REACHED: { source: 'coffer', title: 'The channel confirmed it never received the payment' },
  CHANNEL_NO_ANSWER: { source: 'coffer', title: 'The channel did not answer in time' },
  CHANNEL_DECLINED: { source: 'coffer', title: 'The channel declined without giving a reason' },
  CHANNEL_REJECTED: { source: 'coffer', title: 'The payout channel refused the order' },
  PAYMENT_FAILED: { source: 'coffer', title: 'The payment for the order failed' },
  FAILED: { source: 'coffer', title: 'The bank reported a failure without a code' },
  // The bank depository (SPEC 4) and the payout channel (SPEC 5)
  ACCOUNT_ALREADY_OPENED: { source: 'bank', title: 'The user already has a depository account' },
  ACCOUNT_NOT_OPENED: { source: 'bank', title: 'The user has no depository account at the bank' },
  ACCOUNT_CLOSED: { source: 'bank', title: "The beneficiary's account is closed" },
  CARD_NOT_BOUND: { source: 'bank', title: 'No bound debit card matches the request' },
  CARD_DECLINED: { source: 'bank', title: 'The card issuer declined the card' },
  CURRENCY_MISMATCH: { source: 'bank', title: 'The virtual account holds another currency' },
  INSUFFICIENT_BALANCE: { source: 'bank', title: 'The virtual account balance is too low' },
  INSUFFICIENT_CARD_BALANCE: { source: 'bank', title: 'The debit card balance is too low' },
  USER_LOCKED: { source: 'bank', title: 'Too many wrong transaction passwords: the bank locked the user' },
  RETURNED_BY_BENEFICIARY_BANK: { source: 'bank', title: "The beneficiary's bank returned a paid payout (reversal)" },
  // Payment channels (SPEC 8)
  CHANNEL_UNAVAILABLE: { source: 'channel', title: 'The channel is unavailable; retryable on another channel' },
  CHANNEL_BUSY: { source: 'channel', title: 'The channel is busy; retryable on another channel' },
  SMS_SEND_FAILED: { source: 'channel', title: "The channel could not send its SMS code (Coffer falls back to direct debit)" },
  SMS_CODE_INVALID: { source: 'channel', title: 'Too many wrong SMS codes at the channel' },
  SMS_CODE_EXPIRED: { source: 'channel', title: "The channel's SMS code expired unconfirmed" },
  INSUFFICIENT_FUNDS: { source: 'channel', title: 'The card has insufficient funds' },
  ATTEMPT_FINISHED: { source: 'channel', title: 'The channel attempt was final already' },
} as const satisfies Record<string, { source: 'coffer' | 'bank' | 'channel'; title: string }>;

export type OutcomeCode = keyof typeof outcomeCatalogue;

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    detail?: string,
    readonly extra?: Record<string, unknown>,
  ) {
    super(detail ?? errorCatalogue[code].title);
    this.name = 'DomainError';
  }
}

export function isDomainError(err: unknown, code?: ErrorCode): err is DomainError {
  return err instanceof DomainError && (code === undefined || err.code === code);
}
