import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MAX_AMOUNT_MINOR } from '../../platform/money/index.ts';
import {
  addDays,
  daysBetween,
  divideHalfUp,
  earnedMinor,
  formatRatePercent,
  interestMinor,
  type InterestTerms,
  MAX_RATE_PPM,
  parseRatePercent,
  scheduleFor,
} from './products.interest.ts';

const amounts = fc.bigInt({ min: 1n, max: MAX_AMOUNT_MINOR });
const termsArb: fc.Arbitrary<InterestTerms> = fc.record({
  ratePpm: fc.integer({ min: 1, max: MAX_RATE_PPM }),
  termDays: fc.integer({ min: 1, max: 3660 }),
  dayCount: fc.constantFrom('ACT/365' as const, 'ACT/360' as const),
});

/** The reference: exact rational n/d compared against half of the denominator, with no shortcuts. */
function referenceHalfUp(amount: bigint, t: InterestTerms): bigint {
  const n = amount * BigInt(t.ratePpm) * BigInt(t.termDays);
  const d = 1_000_000n * (t.dayCount === 'ACT/360' ? 360n : 365n);
  const q = n / d;
  const r = n % d;
  return 2n * r >= d ? q + 1n : q;
}

describe('products interest maths', () => {
  test('the worked examples', () => {
    assert.equal(interestMinor(1_000_000n, { ratePpm: 36_500, termDays: 90, dayCount: 'ACT/365' }), 9_000n);
    assert.equal(interestMinor(1_000_000n, { ratePpm: 36_500, termDays: 90, dayCount: 'ACT/360' }), 9_125n);
    assert.equal(interestMinor(18_000n, { ratePpm: 10_000, termDays: 1, dayCount: 'ACT/360' }), 1n, '0.5 rounds up');
    assert.equal(interestMinor(17_999n, { ratePpm: 10_000, termDays: 1, dayCount: 'ACT/360' }), 0n);
  });

  test('interest is a bigint equal to the exact half-up reference, however large the amount', () => {
    fc.assert(
      fc.property(amounts, termsArb, (amount, t) => {
        const interest = interestMinor(amount, t);
        assert.equal(typeof interest, 'bigint');
        assert.equal(interest, referenceHalfUp(amount, t));
      }),
    );
  });

  test('rounding is within half a minor unit of the exact value, and done once', () => {
    fc.assert(
      fc.property(amounts, termsArb, (amount, t) => {
        const n = amount * BigInt(t.ratePpm) * BigInt(t.termDays);
        const d = 1_000_000n * (t.dayCount === 'ACT/360' ? 360n : 365n);
        const diffTimesTwoD = (interestMinor(amount, t) * d - n) * 2n;
        assert.ok(diffTimesTwoD >= -d && diffTimesTwoD < d, 'rounded to the nearest unit, halves up');
      }),
    );
  });

  test('monotone in the amount, the rate and the term', () => {
    fc.assert(
      fc.property(amounts, amounts, termsArb, (a, b, t) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        assert.ok(interestMinor(lo, t) <= interestMinor(hi, t));
        if (t.ratePpm < MAX_RATE_PPM) assert.ok(interestMinor(lo, t) <= interestMinor(lo, { ...t, ratePpm: t.ratePpm + 1 }));
        assert.ok(interestMinor(lo, t) <= interestMinor(lo, { ...t, termDays: t.termDays + 1 }));
        assert.ok(interestMinor(lo, { ...t, dayCount: 'ACT/365' }) <= interestMinor(lo, { ...t, dayCount: 'ACT/360' }), 'a shorter year pays more');
      }),
    );
  });

  test('earnings to date grow by day, never exceed the interest, and reach it on the last day', () => {
    fc.assert(
      fc.property(amounts, termsArb, fc.integer({ min: -5, max: 4000 }), (amount, t, day) => {
        const earned = earnedMinor(amount, t, day);
        const interest = interestMinor(amount, t);
        assert.ok(earned >= 0n && earned <= interest);
        assert.ok(earned <= earnedMinor(amount, t, day + 1));
        if (day >= t.termDays) assert.equal(earned, interest);
        if (day <= 0) assert.equal(earned, 0n);
      }),
    );
  });

  test('divideHalfUp matches the definition', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.bigInt({ min: 1n, max: 10n ** 15n }), (n, d) => {
        const q = divideHalfUp(n, d);
        assert.ok(2n * n >= (2n * q - 1n) * d && 2n * n < (2n * q + 1n) * d);
      }),
    );
    assert.throws(() => divideHalfUp(-1n, 2n), RangeError);
  });

  test('rates: a percent with up to 4 decimals round-trips through ppm; anything else is refused', () => {
    assert.equal(parseRatePercent('3.65'), 36_500);
    assert.equal(parseRatePercent('0.0001'), 1);
    assert.equal(parseRatePercent('100'), 1_000_000);
    assert.equal(formatRatePercent(36_500), '3.65');
    assert.equal(formatRatePercent(30_000), '3.00');
    assert.equal(formatRatePercent(36_550), '3.655');
    for (const bad of ['0', '-1', '3.65001', '1e2', '101', ' 3', '3.', '.5', '']) assert.throws(() => parseRatePercent(bad), /annualRate/, bad);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_RATE_PPM }), (ppm) => {
        assert.equal(parseRatePercent(formatRatePercent(ppm)), ppm);
      }),
    );
  });

  test('dates: value date T+1 in UTC, maturity = value date + term, across months and leap days', () => {
    assert.deepEqual(scheduleFor(new Date('2028-02-28T23:59:59.999Z'), 1), { valueDate: '2028-02-29', maturityDate: '2028-03-01' });
    assert.deepEqual(scheduleFor(new Date('2026-12-31T00:00:00Z'), 90), { valueDate: '2027-01-01', maturityDate: '2027-04-01' });
    fc.assert(
      fc.property(fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }), fc.integer({ min: 1, max: 3660 }), (at, term) => {
        const { valueDate, maturityDate } = scheduleFor(at, term);
        assert.equal(daysBetween(at.toISOString().slice(0, 10), valueDate), 1);
        assert.equal(daysBetween(valueDate, maturityDate), term);
        assert.equal(addDays(valueDate, term), maturityDate);
      }),
    );
  });
});
