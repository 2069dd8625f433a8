import { DomainError } from '../../platform/errors.ts';
import { MAX_AMOUNT_MINOR } from '../../platform/money/index.ts';
import type { FeeRule } from './merchants.types.ts';

/**
 * Fee maths, exact on bigint minor units:
 *
 *   percentagePart = roundHalfUp(amountMinor * rateBp / 10_000)
 *   fee            = clamp(fixedMinor + percentagePart, minMinor, maxMinor)
 *
 * Rounding: the percentage part alone is rounded, once, half up (away from
 * zero; amounts are never negative) to the currency's minor unit: 0.5 fen
 * and above rounds up, below rounds down. The fixed part is already whole.
 * min and max apply to the total, each only when set.
 *
 * Consequences the property tests check: the fee is never negative, lies in
 * [min, max] when they are set (creation refuses min > max), and never falls
 * when the amount rises (both rounding and clamping are monotone).
 */
export const BASIS_POINTS = 10_000n;
export const MAX_RATE_BP = 10_000;

/** round(numerator / denominator) half up, for numerator >= 0 and denominator > 0. */
export function divRoundHalfUp(numerator: bigint, denominator: bigint): bigint {
  if (numerator < 0n || denominator <= 0n) throw new RangeError('divRoundHalfUp takes a non-negative numerator and a positive denominator');
  return (2n * numerator + denominator) / (2n * denominator);
}

export function percentagePart(amountMinor: bigint, rateBp: number): bigint {
  return divRoundHalfUp(amountMinor * BigInt(rateBp), BASIS_POINTS);
}

export type FeeTerms = Pick<FeeRule, 'fixedMinor' | 'rateBp' | 'minMinor' | 'maxMinor'>;

export function computeFee(terms: FeeTerms, amountMinor: bigint): bigint {
  if (amountMinor < 0n) throw new RangeError('a fee is computed on a non-negative amount');
  let fee = terms.fixedMinor + percentagePart(amountMinor, terms.rateBp);
  if (terms.minMinor !== null && fee < terms.minMinor) fee = terms.minMinor;
  if (terms.maxMinor !== null && fee > terms.maxMinor) fee = terms.maxMinor;
  // TigerBeetle-style: the promises above, asserted where they are made.
  if (fee < 0n) throw new Error(`fee invariant broken: negative fee ${fee}`);
  return fee;
}

/** Refuses terms that could give a fee outside its promises. Returns the reasons, empty when valid. */
export function feeTermsViolations(terms: FeeTerms): string[] {
  const errors: string[] = [];
  if (terms.fixedMinor < 0n || terms.fixedMinor > MAX_AMOUNT_MINOR) errors.push('fixed must be between 0 and the largest amount');
  if (!Number.isInteger(terms.rateBp) || terms.rateBp < 0 || terms.rateBp > MAX_RATE_BP) {
    errors.push(`rateBp must be a whole number of basis points from 0 to ${MAX_RATE_BP}`);
  }
  if (terms.minMinor !== null && (terms.minMinor < 0n || terms.minMinor > MAX_AMOUNT_MINOR)) errors.push('min must be between 0 and the largest amount');
  if (terms.maxMinor !== null && (terms.maxMinor < 0n || terms.maxMinor > MAX_AMOUNT_MINOR)) errors.push('max must be between 0 and the largest amount');
  if (terms.minMinor !== null && terms.maxMinor !== null && terms.minMinor > terms.maxMinor) errors.push('min must not exceed max');
  return errors;
}

export function assertFeeTerms(terms: FeeTerms, where: string): void {
  const errors = feeTermsViolations(terms);
  if (errors.length > 0) {
    throw new DomainError('VALIDATION_FAILED', `The fee rule ${where} is not valid: ${errors.join('; ')}`, {
      errors: errors.map((message) => ({ path: `/body/fees/${where}`, message })),
    });
  }
}
