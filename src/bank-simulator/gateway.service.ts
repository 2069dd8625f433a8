/**
 * The bank's side of a depository request: accept the platform's signed
 * request, let the user confirm it, decide it once, and schedule the signed
 * notification. Each decision is one database transaction that ends with the
 * request's guarded PENDING -> SUCCESS | FAIL transition.
 */
import { randomBytes } from 'node:crypto';
import { type BankResultData, type PlatformRequestData, type ServiceName, serviceNames, signText, verifyText } from '../protocol/depository.ts';
import { newId } from '../platform/ids.ts';
import { parseMoney, type CurrencyCode } from '../platform/money/money.ts';
import { type BankContext, PlatformKeyMissingError } from './context.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import * as repo from './repository.ts';
import type { BankTx, CardRow, RequestRow } from './repository.ts';
import {
  type FieldErrors,
  maskCardNumber,
  maskName,
  normaliseBindCardForm,
  normaliseRegisterForm,
  parsePlatformRequest,
  type RegisterForm,
  validateBindCardForm,
  validateRegisterForm,
} from './validation.ts';

export interface GatewayForm {
  serviceName: string;
  platformNo: string;
  reqData: string;
  signature: string;
}

/** Refused before anything was stored (or a duplicate request number). */
export interface Refusal {
  kind: 'refused';
  status: 400 | 403 | 404 | 409 | 503;
  title: string;
  message: string;
}

/** The confirmation page of a PENDING request, perhaps with what went wrong last time. */
export interface ConfirmView {
  kind: 'confirm';
  request: RequestRow;
  data: PlatformRequestData;
  card: CardRow | undefined;
  lockedUntil: Date | undefined;
  error: string | undefined;
  fieldErrors: FieldErrors;
  values: Partial<RegisterForm>;
}

/** A final request: the page says how it ended and offers the way back to the platform. */
export interface FinishedView {
  kind: 'finished';
  request: RequestRow;
  status: 200 | 409 | 423;
  message: string;
}

export interface Redirect {
  kind: 'redirect';
  url: string;
}

export type GatewayOutcome = Refusal | ConfirmView | FinishedView;
export type ConfirmOutcome = Refusal | ConfirmView | FinishedView | Redirect;

function refused(status: Refusal['status'], title: string, message: string): Refusal {
  return { kind: 'refused', status, title, message };
}

export function platformData(request: RequestRow): PlatformRequestData {
  return JSON.parse(request.request_data) as PlatformRequestData;
}

export function callbackRedirect(request: RequestRow): string {
  const { callbackUrl } = platformData(request);
  const status = request.status === 'SUCCESS' ? 'SUCCESS' : 'FAIL';
  const query = `requestNo=${encodeURIComponent(request.request_no)}&status=${status}`;
  return `${callbackUrl}${callbackUrl.includes('?') ? '&' : '?'}${query}`;
}

function demoBalanceMinor(ctx: BankContext, currency: CurrencyCode): bigint {
  return parseMoney(ctx.config.demoCardBalance, currency, { allowZero: true }).amountMinor;
}

// ---- phase 2a: the browser posts the platform's signed request

export async function acceptGatewayRequest(ctx: BankContext, form: GatewayForm): Promise<GatewayOutcome> {
  if (form.platformNo !== ctx.config.platformNo) return refused(400, 'Unknown platform', `The platform "${form.platformNo}" has no contract with this bank.`);
  if (!(serviceNames as readonly string[]).includes(form.serviceName)) {
    return refused(400, 'Unknown service', `The service "${form.serviceName}" is not offered; use one of ${serviceNames.join(', ')}.`);
  }
  const serviceName = form.serviceName as ServiceName;
  const signatureProblem = checkPlatformSignature(ctx, form.reqData, form.signature);
  if (signatureProblem) return signatureProblem;
  const parsed = parsePlatformRequest(form.reqData, serviceName);
  if (!parsed.ok) return refused(400, 'Invalid request', parsed.message);
  const { data, currency, amountMinor, feeMinor } = parsed.value;
  if (requestExpired(data)) {
    return refused(400, 'Request expired', `This request expired at ${data.expiresAt}; nothing was stored. Start again from the platform.`);
  }

  const stored = await ctx.db.transaction().execute(async (tx) => {
    const refusal = await businessRefusal(ctx, tx, serviceName, data, currency);
    const inserted = await repo.insertRequest(tx, {
      platform_no: ctx.config.platformNo,
      request_no: data.requestNo,
      service_name: serviceName,
      user_no: data.userNo,
      amount_minor: amountMinor,
      fee_minor: feeMinor,
      currency,
      card_number: refusal.card?.card_number ?? null,
      form_token: randomBytes(18).toString('base64url'),
      request_data: form.reqData,
    });
    if (!inserted) return undefined;
    if (refusal.failure) await finish(ctx, tx, data.requestNo, { status: 'FAIL', ...refusal.failure, cardNumber: null });
    return { card: refusal.card, failed: refusal.failure };
  });
  if (!stored) return refused(409, 'Duplicate request', `The request ${data.requestNo} was received before; it is not processed again.`);
  const request = (await repo.findRequest(ctx.db, ctx.config.platformNo, data.requestNo))!;
  if (stored.failed) {
    ctx.sender.poke();
    return { kind: 'finished', request, status: 200, message: stored.failed.errorMessage };
  }
  const user = await repo.findUser(ctx.db, data.userNo);
  return confirmView(request, stored.card, user?.locked_until ?? undefined);
}

function checkPlatformSignature(ctx: BankContext, reqData: string, signature: string): Refusal | undefined {
  try {
    if (verifyText(reqData, signature, ctx.platformKey.get())) return undefined;
  } catch (err) {
    if (err instanceof PlatformKeyMissingError) return refused(503, 'Bank not ready', err.message);
    throw err;
  }
  return refused(400, 'Invalid signature', "The request's signature does not match the platform's public key; nothing was stored.");
}

interface Failure {
  errorCode: string;
  errorMessage: string;
}

/** Requests the bank stores but fails at once (and tells the platform so): no account, no card... */
async function businessRefusal(
  ctx: BankContext,
  tx: BankTx,
  serviceName: ServiceName,
  data: PlatformRequestData,
  currency: CurrencyCode,
): Promise<{ failure?: Failure; card?: CardRow }> {
  const user = await repo.findUser(tx, data.userNo);
  if (serviceName === 'PERSONAL_REGISTER') {
    return user ? { failure: { errorCode: 'ACCOUNT_ALREADY_OPENED', errorMessage: 'This user already has a depository account.' } } : {};
  }
  if (!user) return { failure: { errorCode: 'ACCOUNT_NOT_OPENED', errorMessage: 'This user has not opened a depository account.' } };
  if (serviceName === 'BIND_CARD') return {};
  const account = await repo.findVirtualAccount(tx, data.userNo);
  if (account && account.currency !== currency) {
    return { failure: { errorCode: 'CURRENCY_MISMATCH', errorMessage: `The virtual account holds ${account.currency}, not ${currency}.` } };
  }
  const card = chooseCard(await repo.cardsOf(tx, data.userNo), data.cardNumberMasked);
  if (!card) return { failure: { errorCode: 'CARD_NOT_BOUND', errorMessage: 'No bound debit card matches the request.' } };
  return { card };
}

function chooseCard(cards: CardRow[], masked: string | undefined): CardRow | undefined {
  if (masked === undefined || masked === '') return cards[0];
  return cards.find((c) => c.card_number === masked || maskCardNumber(c.card_number) === masked);
}

function confirmView(request: RequestRow, card: CardRow | undefined, lockedUntil: Date | undefined, extra: Partial<ConfirmView> = {}): ConfirmView {
  const stillLocked = lockedUntil && lockedUntil.getTime() > Date.now() ? lockedUntil : undefined;
  return {
    kind: 'confirm',
    request,
    data: platformData(request),
    card,
    lockedUntil: stillLocked,
    error: undefined,
    fieldErrors: {},
    values: {},
    ...extra,
  };
}

// ---- phase 2b: the user confirms on the bank's page

/** Loads the request the confirm form names; the form token proves the page came from us. */
async function requestForForm(ctx: BankContext, body: Record<string, string>): Promise<RequestRow | Refusal> {
  const requestNo = body.requestNo ?? '';
  const request = requestNo ? await repo.findRequest(ctx.db, ctx.config.platformNo, requestNo) : undefined;
  if (!request) return refused(404, 'Unknown request', 'No such request at this bank. Start again from the platform.');
  if (body.formToken !== request.form_token) return refused(403, 'Form expired', 'This form does not belong to the request. Start again from the platform.');
  return request;
}

export async function confirmRequest(ctx: BankContext, body: Record<string, string>): Promise<ConfirmOutcome> {
  const request = await requestForForm(ctx, body);
  if ('kind' in request) return request;
  if (request.status !== 'PENDING') return alreadyFinished(request);
  if (requestExpired(platformData(request))) return afterDecision(ctx, request, await expireRequest(ctx, request), {});
  if (request.service_name === 'PERSONAL_REGISTER') return confirmRegistration(ctx, request, body);
  if (request.service_name === 'BIND_CARD') return confirmBindCard(ctx, request, body);
  return confirmPayment(ctx, request, body.password ?? '');
}

export async function returnToPlatform(ctx: BankContext, body: Record<string, string>): Promise<Refusal | Redirect> {
  const request = await requestForForm(ctx, body);
  if ('kind' in request) return request;
  if (request.status === 'PENDING') return refused(409, 'Not finished', 'This request is still waiting for your confirmation.');
  return { kind: 'redirect', url: callbackRedirect(request) };
}

/** The platform's `expiresAt` has passed: the bank no longer acts on the request. */
export function requestExpired(data: PlatformRequestData, nowMs = Date.now()): boolean {
  return data.expiresAt !== undefined && Date.parse(data.expiresAt) < nowMs;
}

/** Fails a PENDING request whose time ran out (REQUEST_EXPIRED) and tells the platform; 'lost' if it was decided meanwhile. */
export async function expireRequest(ctx: BankContext, request: RequestRow): Promise<'done' | 'lost'> {
  const decided = await ctx.db.transaction().execute(async (tx) => {
    if (!(await repo.lockPendingRequest(tx, request.platform_no, request.request_no))) return 'lost' as const;
    await finish(ctx, tx, request.request_no, {
      status: 'FAIL',
      errorCode: 'REQUEST_EXPIRED',
      errorMessage: 'The request expired before it was confirmed.',
      cardNumber: null,
    });
    return 'done' as const;
  });
  if (decided === 'done') ctx.sender.poke();
  return decided;
}

function alreadyFinished(request: RequestRow): FinishedView {
  return { kind: 'finished', request, status: 409, message: `This request was already processed (${request.status}).` };
}

async function confirmRegistration(ctx: BankContext, request: RequestRow, body: Record<string, string>): Promise<ConfirmOutcome> {
  const form = normaliseRegisterForm(body);
  const values = { ...form, password: '', passwordConfirm: '' };
  const fieldErrors = validateRegisterForm(form);
  if (Object.keys(fieldErrors).length > 0) return confirmView(request, undefined, undefined, { fieldErrors, values, error: 'Please correct the fields marked below.' });
  const existingCard = await repo.findCard(ctx.db, form.cardNumber);
  if (existingCard?.holder_user_no && existingCard.holder_user_no !== request.user_no) {
    return confirmView(request, undefined, undefined, { fieldErrors: { cardNumber: 'This card is held in another person’s name; bind a debit card in your own name.' }, values });
  }
  const passwordHash = await hashPassword(form.password);
  const decided = await ctx.db.transaction().execute(async (tx) => {
    if (!(await repo.lockPendingRequest(tx, request.platform_no, request.request_no))) return 'lost' as const;
    return openAccount(ctx, tx, request, form, passwordHash);
  });
  return afterDecision(ctx, request, decided, values);
}

async function openAccount(ctx: BankContext, tx: BankTx, request: RequestRow, form: RegisterForm, passwordHash: string): Promise<'done' | 'card-taken'> {
  const currency = (request.currency ?? 'CNY') as CurrencyCode;
  await repo.ensureCard(tx, form.cardNumber, currency, demoBalanceMinor(ctx, currency));
  if (!(await repo.bindCard(tx, form.cardNumber, request.user_no, form.bankCode))) return 'card-taken';
  const created = await repo.insertUser(tx, {
    user_no: request.user_no,
    real_name: form.realName,
    id_number: form.idNumber,
    mobile: form.mobile,
    password_hash: passwordHash,
  });
  if (!created) {
    await finish(ctx, tx, request.request_no, { status: 'FAIL', errorCode: 'ACCOUNT_ALREADY_OPENED', errorMessage: 'This user already has a depository account.', cardNumber: null });
    return 'done';
  }
  await repo.insertVirtualAccount(tx, request.user_no, currency);
  await finish(ctx, tx, request.request_no, {
    status: 'SUCCESS',
    cardNumber: form.cardNumber,
    extra: { cardNumberMasked: maskCardNumber(form.cardNumber), bankCode: form.bankCode, realNameMasked: maskName(form.realName) },
  });
  return 'done';
}

const CARD_OF_ANOTHER = 'This card is held in another person’s name; bind a debit card in your own name.';
const CARD_ALREADY_BOUND = 'This card is already bound to your account; enter another debit card in your own name.';

async function afterDecision(
  ctx: BankContext,
  request: RequestRow,
  decided: 'done' | 'lost' | 'card-taken' | 'card-mine',
  values: Partial<RegisterForm>,
): Promise<ConfirmOutcome> {
  const current = (await repo.findRequest(ctx.db, request.platform_no, request.request_no))!;
  if (decided === 'card-taken' || decided === 'card-mine') {
    const message = decided === 'card-taken' ? CARD_OF_ANOTHER : CARD_ALREADY_BOUND;
    return confirmView(current, undefined, undefined, { error: message, fieldErrors: { cardNumber: message }, values });
  }
  if (decided === 'lost') return alreadyFinished(current);
  ctx.sender.poke();
  return { kind: 'redirect', url: callbackRedirect(current) };
}

/**
 * BIND_CARD: the user types a debit card and their transaction password (the
 * same lockout as payments). A card held in another person's name, or already
 * bound to this user, is refused with the form shown again (the request stays
 * PENDING, so they can enter another card); otherwise the card is bound to the
 * user and the platform is notified SUCCESS with the masked card and bank code.
 */
async function confirmBindCard(ctx: BankContext, request: RequestRow, body: Record<string, string>): Promise<ConfirmOutcome> {
  const form = normaliseBindCardForm(body);
  const values = { cardNumber: form.cardNumber, bankCode: form.bankCode };
  const user = (await repo.findUser(ctx.db, request.user_no))!;
  if (user.locked_until && user.locked_until.getTime() > Date.now()) return failLocked(ctx, request, user.locked_until);
  const fieldErrors = validateBindCardForm(form);
  if (Object.keys(fieldErrors).length > 0) return confirmView(request, undefined, undefined, { fieldErrors, values, error: 'Please correct the fields marked below.' });
  if (!(await verifyPassword(form.password, user.password_hash))) return wrongPassword(ctx, request, undefined, values);
  await repo.clearPasswordFailures(ctx.db, user.user_no);
  const currency = (request.currency ?? 'CNY') as CurrencyCode;
  const decided = await ctx.db.transaction().execute(async (tx) => {
    if (!(await repo.lockPendingRequest(tx, request.platform_no, request.request_no))) return 'lost' as const;
    await repo.ensureCard(tx, form.cardNumber, currency, demoBalanceMinor(ctx, currency));
    const bound = await repo.bindFreeCard(tx, form.cardNumber, request.user_no, form.bankCode);
    if (bound === 'taken') return 'card-taken' as const;
    if (bound === 'mine') return 'card-mine' as const;
    await finish(ctx, tx, request.request_no, {
      status: 'SUCCESS',
      cardNumber: form.cardNumber,
      extra: { cardNumberMasked: maskCardNumber(form.cardNumber), bankCode: form.bankCode },
    });
    return 'done' as const;
  });
  return afterDecision(ctx, request, decided, values);
}

async function confirmPayment(ctx: BankContext, request: RequestRow, password: string): Promise<ConfirmOutcome> {
  const user = (await repo.findUser(ctx.db, request.user_no))!;
  const card = request.card_number ? await repo.findCard(ctx.db, request.card_number) : undefined;
  if (user.locked_until && user.locked_until.getTime() > Date.now()) return failLocked(ctx, request, user.locked_until);
  if (!(await verifyPassword(password, user.password_hash))) return wrongPassword(ctx, request, card);
  await repo.clearPasswordFailures(ctx.db, user.user_no);
  const decided = await ctx.db.transaction().execute(async (tx) => {
    if (!(await repo.lockPendingRequest(tx, request.platform_no, request.request_no))) return 'lost' as const;
    await (request.service_name === 'RECHARGE' ? recharge(ctx, tx, request) : withdraw(ctx, tx, request));
    return 'done' as const;
  });
  return afterDecision(ctx, request, decided, {});
}

async function wrongPassword(ctx: BankContext, request: RequestRow, card: CardRow | undefined, values: Partial<RegisterForm> = {}): Promise<ConfirmOutcome> {
  const { passwordMaxFailures, passwordLockS } = ctx.config;
  const user = await repo.recordPasswordFailure(ctx.db, request.user_no, passwordMaxFailures, passwordLockS);
  if (user.locked_until && user.locked_until.getTime() > Date.now()) return failLocked(ctx, request, user.locked_until);
  const left = passwordMaxFailures - user.failed_attempts;
  return confirmView(request, card, undefined, {
    error: `Wrong transaction password. ${left} attempt${left === 1 ? '' : 's'} left before your account is locked.`,
    values,
  });
}

/** A locked user's request fails (so the platform releases any hold) and the page says until when. */
async function failLocked(ctx: BankContext, request: RequestRow, lockedUntil: Date): Promise<ConfirmOutcome> {
  const message = `Too many wrong transaction passwords: your account is locked until ${lockedUntil.toISOString()}.`;
  const decided = await ctx.db.transaction().execute(async (tx) => {
    if (!(await repo.lockPendingRequest(tx, request.platform_no, request.request_no))) return 'lost' as const;
    await finish(ctx, tx, request.request_no, { status: 'FAIL', errorCode: 'USER_LOCKED', errorMessage: message, cardNumber: request.card_number });
    return 'done' as const;
  });
  const current = (await repo.findRequest(ctx.db, request.platform_no, request.request_no))!;
  if (decided === 'lost') return alreadyFinished(current);
  ctx.sender.poke();
  return { kind: 'finished', request: current, status: 423, message };
}

async function recharge(ctx: BankContext, tx: BankTx, request: RequestRow): Promise<void> {
  const amount = request.amount_minor!;
  const cardNumber = request.card_number!;
  const fail = (errorCode: string, errorMessage: string) => finish(ctx, tx, request.request_no, { status: 'FAIL', errorCode, errorMessage, cardNumber });
  if (ctx.faults.isDeclined(cardNumber)) return fail('CARD_DECLINED', 'The card issuer declined the debit.');
  if (!(await repo.debitCard(tx, cardNumber, amount))) return fail('INSUFFICIENT_CARD_BALANCE', 'The debit card balance is too low.');
  await repo.creditVirtualAccount(tx, request.user_no, request.currency!, amount);
  await finish(ctx, tx, request.request_no, { status: 'SUCCESS', cardNumber, extra: { cardNumberMasked: maskCardNumber(cardNumber) } });
}

/** The virtual account pays `amount`; the card receives amount - fee; the fee goes to the platform's account here. */
async function withdraw(ctx: BankContext, tx: BankTx, request: RequestRow): Promise<void> {
  const amount = request.amount_minor!;
  const fee = request.fee_minor ?? 0n;
  const cardNumber = request.card_number!;
  const fail = (errorCode: string, errorMessage: string) => finish(ctx, tx, request.request_no, { status: 'FAIL', errorCode, errorMessage, cardNumber });
  if (ctx.faults.isDeclined(cardNumber)) return fail('CARD_DECLINED', 'The card issuer refused the credit.');
  if (!(await repo.debitVirtualAccount(tx, request.user_no, amount))) return fail('INSUFFICIENT_BALANCE', 'The virtual account balance is too low.');
  await repo.creditCard(tx, cardNumber, amount - fee);
  if (fee > 0n) await repo.creditVirtualAccount(tx, platformFeeAccount(ctx), request.currency!, fee);
  await finish(ctx, tx, request.request_no, { status: 'SUCCESS', cardNumber, extra: { cardNumberMasked: maskCardNumber(cardNumber) } });
}

export function platformFeeAccount(ctx: BankContext): string {
  return `platform:${ctx.config.platformNo}`;
}

// ---- the decision and its notification

interface Decision {
  status: 'SUCCESS' | 'FAIL';
  errorCode?: string;
  errorMessage?: string;
  cardNumber: string | null;
  extra?: Pick<BankResultData, 'cardNumberMasked' | 'bankCode' | 'realNameMasked'>;
}

/** Finishes a request locked by the caller and schedules its signed notification, in the caller's transaction. */
async function finish(ctx: BankContext, tx: BankTx, requestNo: string, decision: Decision): Promise<void> {
  const request = (await repo.findRequest(tx, ctx.config.platformNo, requestNo))!;
  const resultData = JSON.stringify(resultOf(request, decision));
  const finished = await repo.finishRequest(tx, request.platform_no, requestNo, {
    status: decision.status,
    errorCode: decision.errorCode ?? null,
    errorMessage: decision.errorMessage ?? null,
    resultData,
    cardNumber: decision.cardNumber,
  });
  if (!finished) throw new Error(`request ${requestNo} was decided twice; the caller must hold its row lock`);
  await repo.insertNotification(tx, {
    id: newId('ntf'),
    platform_no: request.platform_no,
    request_no: requestNo,
    service_name: request.service_name,
    status: decision.status,
    notify_url: platformData(request).notifyUrl,
    req_data: resultData,
    signature: signText(resultData, ctx.bankPrivateKey),
    firstDelayMs: ctx.sender.delayBeforeAttemptMs(0) ?? 0,
  });
  ctx.log.info({ requestNo, serviceName: request.service_name, status: decision.status, errorCode: decision.errorCode }, 'request decided');
}

function resultOf(request: RequestRow, decision: Decision): BankResultData {
  const data = platformData(request);
  const result: BankResultData = {
    requestNo: request.request_no,
    serviceName: request.service_name as ServiceName,
    userNo: request.user_no,
    status: decision.status,
    timestamp: new Date().toISOString(),
  };
  if (data.amount !== undefined) {
    result.amount = data.amount;
    result.currency = request.currency ?? undefined;
  }
  if (decision.errorCode) {
    result.errorCode = decision.errorCode;
    result.errorMessage = decision.errorMessage ?? decision.errorCode;
  }
  return { ...result, ...decision.extra };
}
