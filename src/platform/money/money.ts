import { DomainError } from '../errors.ts';

/** Currencies Coffer accepts, with the number of decimals of their minor unit (ISO 4217). */
export const currencies = {
  CNY: { exponent: 2 },
  USD: { exponent: 2 },
  EUR: { exponent: 2 },
  GBP: { exponent: 2 },
  HKD: { exponent: 2 },
  JPY: { exponent: 0 },
  KRW: { exponent: 0 },
} as const;

export type CurrencyCode = keyof typeof currencies;

/** An amount in minor units (fen, cents, yen) of one currency. Never a float. */
export interface Money {
  readonly amountMinor: bigint;
  readonly currency: CurrencyCode;
}

/**
 * The largest single amount accepted: 15 digits of minor units. It keeps the
 * running totals of an account far inside a signed 64-bit column.
 */
export const MAX_AMOUNT_MINOR = 999_999_999_999_999n;

export function isCurrencyCode(value: string): value is CurrencyCode {
  return Object.hasOwn(currencies, value);
}

export function currencyCode(value: string): CurrencyCode {
  if (!isCurrencyCode(value)) {
    throw new DomainError('UNSUPPORTED_CURRENCY', `Currency "${value}" is not supported; use one of ${Object.keys(currencies).join(', ')}`);
  }
  return value;
}

export function exponentOf(currency: CurrencyCode): number {
  return currencies[currency].exponent;
}

export interface ParseOptions {
  /** Zero is refused unless allowed (a payment of nothing is a mistake). */
  allowZero?: boolean;
  allowNegative?: boolean;
}

const DECIMAL = /^(-?)(0|[1-9]\d*)(?:\.(\d+))?$/;

/** Parses a decimal string such as "100.50" strictly: no exponents, signs, spaces or excess decimals. */
export function parseMoney(text: unknown, currency: CurrencyCode, options: ParseOptions = {}): Money {
  if (typeof text !== 'string') throw invalid(`an amount must be a decimal string such as "100.50"`);
  const match = text.length <= 40 ? DECIMAL.exec(text) : null;
  if (!match) throw invalid(`"${text.slice(0, 40)}" is not a decimal amount such as "100.50"`);
  const [, sign, whole, fraction = ''] = match;
  const exponent = exponentOf(currency);
  if (fraction.length > exponent) {
    throw invalid(`${currency} amounts have at most ${exponent} decimal${exponent === 1 ? '' : 's'}, got "${text}"`);
  }
  const magnitude = BigInt(whole! + fraction.padEnd(exponent, '0'));
  if (magnitude > MAX_AMOUNT_MINOR) throw invalid(`"${text}" is larger than the largest amount accepted`);
  if (sign && magnitude === 0n) throw invalid(`"${text}" is not an amount; write zero without a sign`);
  const amountMinor = sign ? -magnitude : magnitude;
  if (amountMinor < 0n && !options.allowNegative) throw invalid(`the amount must not be negative, got "${text}"`);
  if (amountMinor === 0n && !options.allowZero) throw invalid('the amount must be greater than zero');
  return { amountMinor, currency };
}

/** Formats minor units as the API's decimal string: 10050n CNY -> "100.50", 100n JPY -> "100". */
export function formatMinor(amountMinor: bigint, currency: CurrencyCode): string {
  const exponent = exponentOf(currency);
  const negative = amountMinor < 0n;
  const digits = (negative ? -amountMinor : amountMinor).toString().padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = exponent > 0 ? `.${digits.slice(digits.length - exponent)}` : '';
  return `${negative ? '-' : ''}${whole}${fraction}`;
}

export function formatMoney(money: Money): string {
  return formatMinor(money.amountMinor, money.currency);
}

export function money(amountMinor: bigint, currency: CurrencyCode): Money {
  return { amountMinor, currency };
}

function sameCurrency(a: Money, b: Money): void {
  if (a.currency !== b.currency) {
    throw new DomainError('CURRENCY_MISMATCH', `Cannot combine ${a.currency} and ${b.currency} amounts`);
  }
}

export function addMoney(a: Money, b: Money): Money {
  sameCurrency(a, b);
  return money(a.amountMinor + b.amountMinor, a.currency);
}

export function subtractMoney(a: Money, b: Money): Money {
  sameCurrency(a, b);
  return money(a.amountMinor - b.amountMinor, a.currency);
}

export function compareMoney(a: Money, b: Money): -1 | 0 | 1 {
  sameCurrency(a, b);
  return a.amountMinor < b.amountMinor ? -1 : a.amountMinor > b.amountMinor ? 1 : 0;
}

function invalid(detail: string): DomainError {
  return new DomainError('INVALID_AMOUNT', `Invalid amount: ${detail}`);
}
