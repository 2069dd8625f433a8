/**
 * The merchants module's whole public surface (SPEC 5: merchants, operators,
 * API keys and request signing; README.md beside this file).
 *
 * For the payouts module, inside its acceptance:
 *
 *   await merchants.assertCanUse(merchantId, 'PAYOUT_SINGLE', tx);   // MERCHANT_NOT_ACTIVE | PRODUCT_NOT_ENABLED
 *   const fee = await merchants.feeFor(merchantId, 'PAYOUT_SINGLE', amountMinor, currency);   // Money
 *   const account = await merchants.settlementAccount(merchantId, currency);   // ledger Account (MERCHANT_SETTLEMENT)
 *
 * Signed routes (any module; the route's scope must call `keepRawBody` from
 * platform/http/raw-body.ts so the signature is checked over the exact bytes):
 *
 *   const idem = app.idempotent(merchantScope);
 *   // preValidation: the signature is checked before the body is validated (strangers get 401, not schema hints)
 *   app.post('/v1/payouts', { preValidation: app.requireMerchant, preHandler: idem.preHandler, onSend: idem.onSend }, async (request) => {
 *     const { merchantId, keyId, role } = currentMerchant(request);
 *   });
 *
 * Portal routes: `{ preHandler: app.requireOperator(['checker']) }`, then `currentOperator(request)`.
 */
export {
  MerchantsService,
  DEFAULT_MERCHANTS_OPTIONS,
  feeRulesFrom,
  type Actor,
  type FeeRuleInput,
  type MerchantsDeps,
  type MerchantsOptions,
  type SignedRequest,
} from './merchants.service.ts';
export { OperatorsService, DEFAULT_OPERATORS_OPTIONS, OPERATOR_TOKEN_PREFIX, type OperatorsDeps, type OperatorsOptions } from './operators.service.ts';
export {
  merchantAuthPlugin,
  operatorAdminVerifier,
  currentMerchant,
  currentOperator,
  adminActor,
  merchantActor,
  merchantSecurity,
  operatorSecurity,
  type Guard,
} from './merchants.auth.ts';
export { merchantsHttpModule, merchantScope } from './merchants.routes.ts';
export { merchantsMigrations } from './merchants.migrations.ts';
export { SecretBox } from './merchants.secrets.ts';
export { computeFee, divRoundHalfUp, percentagePart, type FeeTerms } from './merchants.fees.ts';
export {
  signMerchantRequest,
  computeSignature,
  signatureMatches,
  KEY_HEADER,
  TIMESTAMP_HEADER,
  SIGNATURE_HEADER,
  type MerchantRequestToSign,
} from './merchants.signing.ts';
export {
  merchantTransitions,
  canTransition,
  products,
  apiKeyRoles,
  operatorRoles,
  type Adjustment,
  type ApiKey,
  type ApiKeyRole,
  type AuthenticatedMerchant,
  type AuthenticatedOperator,
  type FeeRule,
  type Merchant,
  type MerchantId,
  type MerchantStatus,
  type Operator,
  type OperatorRole,
  type Product,
} from './merchants.types.ts';
export {
  FundingService,
  fundingTransferId,
  transferInStatuses,
  transferInView,
  type FundingDeps,
  type TransferIn,
  type TransferInStatus,
} from './merchants.funding.ts';
export { fundingHttpModule } from './merchants.funding.routes.ts';
export { fundingMigrations } from './merchants.funding.migrations.ts';
