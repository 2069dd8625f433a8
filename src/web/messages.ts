/**
 * What the UI tells a person, keyed by the problem code a service failed with
 * (SPEC 9's catalogue, plus codes the users and wallets modules add). A code
 * not listed shows the error's own detail, which the service wrote for humans.
 */
export const problemMessages: Record<string, string> = {
  VALIDATION_FAILED: 'Please correct the highlighted fields.',
  INVALID_AMOUNT: 'Enter an amount such as 100.00.',
  UNAUTHORIZED: 'Please log in.',
  INVALID_CREDENTIALS: 'The mobile number or password is wrong.',
  LOGIN_LOCKED: 'Too many failed attempts: this account is locked for a while. Try again later.',
  ACCOUNT_LOCKED: 'Too many failed attempts: this account is locked for a while. Try again later.',
  MOBILE_TAKEN: 'That mobile number is already registered. Log in instead.',
  MOBILE_ALREADY_REGISTERED: 'That mobile number is already registered. Log in instead.',
  DUPLICATE_REQUEST: 'That was already done.',
  ACCOUNT_NOT_OPENED: 'Open your depository account first: it connects your wallet to your bank card.',
  ACCOUNT_ALREADY_OPENED: 'Your depository account is already open.',
  ACCOUNT_FROZEN: 'Your account is frozen: you can look around, but no money can move.',
  USER_FROZEN: 'Your account is frozen: you can look around, but no money can move.',
  CARD_NOT_FOUND: 'That card is not one of your bound cards (it may have been removed already).',
  CARD_IN_USE: 'A withdrawal to this card is still in progress. Remove the card once it has finished.',
  CARD_NOT_BOUND: 'You have no bound debit card. Add one on the Cards page first.',
  INSUFFICIENT_FUNDS: 'Your available balance is too low for that (the withdrawal fee counts too).',
  SERVICE_UNAVAILABLE: 'This service is not ready yet. Please try again in a moment.',
  INTERNAL_ERROR: 'Something went wrong on our side. Please try again.',
  RISK_REJECTED: 'This withdrawal was refused by our risk checks. Contact support if you think this is wrong.',
  SMS_CODE_INVALID: 'That code is not right. Check the SMS and try again.',
  SMS_CODE_EXPIRED: 'That code has expired. Start the withdrawal again for a new one.',
  SMS_CODE_ATTEMPTS_EXCEEDED: 'Too many wrong codes. Start the withdrawal again for a new one.',
  INVALID_OPERATOR_CREDENTIALS: 'The username or password is wrong.',
  CSRF_REJECTED: 'This form has expired or did not come from this site. Reload the page and try again.',
};

/** Outcomes a redirect can announce with `?notice=`; only these keys are ever shown. */
export const notices: Record<string, string> = {
  registered: 'Your account is ready. Log in with your mobile number and password.',
  'logged-out': 'You have logged out.',
  'login-required': 'Please log in to continue.',
  'session-expired': 'Your session has ended. Please log in again.',
  'bank-returned': 'Welcome back from your bank. The status below updates once the bank confirms.',
  'card-bank-returned': 'Welcome back from your bank. A new card shows here once the bank confirms it.',
  'card-bank-failed': 'Your bank did not add the card. You can try again.',
  'card-removed': 'The card was removed.',
  'no-operator-area': 'This operator has no area here: the admin console is for admins, the portal for a merchant\'s makers, checkers and viewers.',
  'merchant-created': 'The merchant was created. It starts in review: activate it when ready.',
  'merchant-updated': 'The merchant was updated.',
  'merchant-funded': 'The adjustment was posted to the settlement account.',
  'operator-created': 'The operator was created.',
  'operator-updated': 'The operator was updated.',
  'rule-saved': 'The rule was saved.',
  'blacklist-added': 'The entry was added to the blacklist.',
  'blacklist-removed': 'The entry was removed from the blacklist.',
  'review-approved': 'The review was approved.',
  'review-rejected': 'The review was rejected.',
  'key-revoked': 'The API key was revoked.',
  'delivery-resent': 'The delivery was attempted again; its newest attempt is listed.',
  'batch-created': 'The batch was uploaded. It waits for a checker\'s approval; nothing moves before that.',
  'batch-approved': 'The batch was approved: its payouts are being made.',
  'batch-rejected': 'The batch was rejected: nothing was paid.',
  subscribed: 'Bought: paid from your wallet. It starts earning on its value date.',
  'payment-card-added': 'The card was added.',
  'payment-card-removed': 'The card was removed.',
  'product-created': 'The product was created. Put it on shelf when it should be sold.',
  'product-saved': 'The product was saved.',
  'product-shelved': 'The product\'s shelf state was changed.',
  'channel-saved': 'The channel was saved.',
  'coupon-issued': 'The coupon was issued.',
  'clock-advanced': 'The business clock moved forward.',
  'settlement-checked': 'The day was checked: its result is below.',
};

export function messageFor(code: string, detail: string | undefined): string {
  return problemMessages[code] ?? detail ?? 'Something went wrong. Please try again.';
}
