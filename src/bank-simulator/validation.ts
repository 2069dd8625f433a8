import { isWireAmount, type PlatformRequestData, type ServiceName } from '../protocol/depository.ts';
import { type CurrencyCode, isCurrencyCode, parseMoney } from '../platform/money/money.ts';

export const DEFAULT_CURRENCY: CurrencyCode = 'CNY';

/** A platform request the bank can act on: the wire data plus its amounts in minor units. */
export interface ParsedPlatformRequest {
  data: PlatformRequestData;
  currency: CurrencyCode;
  amountMinor: bigint | null;
  feeMinor: bigint | null;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

export const REQUEST_NO = /^[A-Za-z0-9_.:-]{1,64}$/;
const USER_NO = /^[A-Za-z0-9_.:@-]{1,64}$/;

function httpUrl(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > 2048) return false;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function fail<T>(message: string): Parsed<T> {
  return { ok: false, message };
}

/** Reads reqData after its signature was verified: the platform may still have sent nonsense. */
export function parsePlatformRequest(reqData: string, serviceName: ServiceName): Parsed<ParsedPlatformRequest> {
  let raw: unknown;
  try {
    raw = JSON.parse(reqData);
  } catch {
    return fail('reqData is not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('reqData must be a JSON object');
  const data = raw as Record<string, unknown>;
  if (typeof data.requestNo !== 'string' || !REQUEST_NO.test(data.requestNo)) return fail('reqData.requestNo must be 1-64 letters, digits or _.:-');
  if (typeof data.userNo !== 'string' || !USER_NO.test(data.userNo)) return fail('reqData.userNo must be 1-64 letters, digits or _.:@-');
  if (!httpUrl(data.notifyUrl)) return fail('reqData.notifyUrl must be an http(s) URL');
  if (!httpUrl(data.callbackUrl)) return fail('reqData.callbackUrl must be an http(s) URL');
  if (typeof data.timestamp !== 'string' || data.timestamp.length === 0) return fail('reqData.timestamp is required');
  if (data.expiresAt !== undefined && (typeof data.expiresAt !== 'string' || Number.isNaN(Date.parse(data.expiresAt)))) {
    return fail('reqData.expiresAt must be an ISO-8601 time');
  }
  const currency = data.currency === undefined ? DEFAULT_CURRENCY : data.currency;
  if (typeof currency !== 'string' || !isCurrencyCode(currency)) return fail(`reqData.currency "${String(currency)}" is not supported`);
  if (serviceName === 'PERSONAL_REGISTER' || serviceName === 'BIND_CARD') {
    return { ok: true, value: { data: data as unknown as PlatformRequestData, currency, amountMinor: null, feeMinor: null } };
  }
  return parseAmounts(data, serviceName, currency);
}

function parseAmounts(data: Record<string, unknown>, serviceName: ServiceName, currency: CurrencyCode): Parsed<ParsedPlatformRequest> {
  const amountMinor = minor(data.amount, currency, false);
  if (amountMinor === undefined) return fail(`reqData.amount must be a decimal string such as "100.00" for ${currency}`);
  let feeMinor = 0n;
  if (serviceName === 'WITHDRAW' && data.fee !== undefined) {
    const fee = minor(data.fee, currency, true);
    if (fee === undefined) return fail('reqData.fee must be a decimal string such as "2.00"');
    if (fee >= amountMinor) return fail('reqData.fee must be less than the amount');
    feeMinor = fee;
  }
  if (data.cardNumberMasked !== undefined && typeof data.cardNumberMasked !== 'string') return fail('reqData.cardNumberMasked must be a string');
  return { ok: true, value: { data: data as unknown as PlatformRequestData, currency, amountMinor, feeMinor } };
}

/** A channel order's `amount` in its `currency`: a supported currency and a positive decimal string in its scale. */
export function parseOrderAmount(data: { amount?: unknown; currency?: unknown }): { currency: CurrencyCode; amountMinor: bigint } | string {
  const { currency } = data;
  if (typeof currency !== 'string' || !isCurrencyCode(currency)) return `reqData.currency "${String(currency)}" is not supported`;
  try {
    return { currency, amountMinor: parseMoney(data.amount, currency).amountMinor };
  } catch {
    return `reqData.amount must be a decimal string such as "100.00" for ${currency}`;
  }
}

function minor(value: unknown, currency: CurrencyCode, allowZero: boolean): bigint | undefined {
  if (!isWireAmount(value)) return undefined;
  try {
    return parseMoney(value, currency, { allowZero }).amountMinor;
  } catch {
    return undefined;
  }
}

// ---- the account-opening form

export interface RegisterForm {
  realName: string;
  idNumber: string;
  cardNumber: string;
  bankCode: string;
  mobile: string;
  password: string;
  passwordConfirm: string;
}

export type FieldErrors = Partial<Record<keyof RegisterForm, string>>;

const ID_NUMBER = /^\d{17}[\dX]$/;
export const CARD_NUMBER = /^\d{12,19}$/;
const BANK_CODE = /^[\p{L}\p{N}_]{2,20}$/u;
export const MOBILE = /^\+?\d{6,15}$/;
export const PASSWORD_MIN = 6;
const PASSWORD_MAX = 64;

/** Trims and normalises what the user typed (card numbers may come with spaces). */
export function normaliseRegisterForm(body: Record<string, string>): RegisterForm {
  return {
    realName: (body.realName ?? '').trim(),
    idNumber: (body.idNumber ?? '').trim().toUpperCase(),
    cardNumber: (body.cardNumber ?? '').replace(/[\s-]/g, ''),
    bankCode: (body.bankCode ?? '').trim().toUpperCase(),
    mobile: (body.mobile ?? '').replace(/[\s-]/g, ''),
    password: body.password ?? '',
    passwordConfirm: body.passwordConfirm ?? '',
  };
}

export function validateRegisterForm(form: RegisterForm): FieldErrors {
  const errors: FieldErrors = {};
  if (form.realName.length === 0 || form.realName.length > 50) errors.realName = 'Enter your name as on your ID (up to 50 characters).';
  if (!ID_NUMBER.test(form.idNumber)) errors.idNumber = 'An ID number is 18 characters: 17 digits, then a digit or X.';
  if (!CARD_NUMBER.test(form.cardNumber)) errors.cardNumber = 'A debit card number is 12 to 19 digits.';
  if (!BANK_CODE.test(form.bankCode)) errors.bankCode = 'A bank code is 2 to 20 letters or digits, e.g. ICBC.';
  if (!MOBILE.test(form.mobile)) errors.mobile = 'Enter a mobile number of 6 to 15 digits.';
  if (form.password.length < PASSWORD_MIN || form.password.length > PASSWORD_MAX) {
    errors.password = `The transaction password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters.`;
  } else if (form.password !== form.passwordConfirm) {
    errors.passwordConfirm = 'The two passwords differ.';
  }
  return errors;
}

// ---- the add-a-card form (BIND_CARD)

export type BindCardForm = Pick<RegisterForm, 'cardNumber' | 'bankCode' | 'password'>;

export function normaliseBindCardForm(body: Record<string, string>): BindCardForm {
  const { cardNumber, bankCode, password } = normaliseRegisterForm(body);
  return { cardNumber, bankCode, password };
}

/** The card fields only: the password is checked against the user's (and counts toward the lock). */
export function validateBindCardForm(form: BindCardForm): FieldErrors {
  const errors: FieldErrors = {};
  if (!CARD_NUMBER.test(form.cardNumber)) errors.cardNumber = 'A debit card number is 12 to 19 digits.';
  if (!BANK_CODE.test(form.bankCode)) errors.bankCode = 'A bank code is 2 to 20 letters or digits, e.g. ICBC.';
  if (form.password.length === 0) errors.password = 'Enter your transaction password.';
  return errors;
}

export function maskCardNumber(cardNumber: string): string {
  return `${cardNumber.slice(0, 4)}${'*'.repeat(Math.max(0, cardNumber.length - 8))}${cardNumber.slice(-4)}`;
}

export function maskName(name: string): string {
  const chars = [...name];
  return chars.length <= 1 ? '*' : `${'*'.repeat(chars.length - 1)}${chars[chars.length - 1]}`;
}
