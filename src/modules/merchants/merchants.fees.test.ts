import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MAX_AMOUNT_MINOR } from '../../platform/money/index.ts';
import { computeFee, divRoundHalfUp, feeTermsViolations, percentagePart, type FeeTerms } from './merchants.fees.ts';
import { feeRulesFrom } from './merchants.service.ts';

const terms = (t: Partial<FeeTerms>): FeeTerms => ({ fixedMinor: 0n, rateBp: 0, minMinor: null, maxMinor: null, ...t });

describe('fee maths', () => {
  test('the percentage part rounds half up, once, to the minor unit', () => {
    // 0.6 % of 100.75 = 0.6045 -> 0.60; of 100.84 = 0.60504 -> 0.61; of 125.00 = 0.75 exactly
    assert.equal(percentagePart(10075n, 60), 60n);
    assert.equal(percentagePart(10084n, 60), 61n);
    assert.equal(percentagePart(12500n, 60), 75n);
    // exactly half a fen rounds up: 0.5 % of 1.01 = 0.00505 -> 0.01; 0.5 % of 1.00 = 0.005 -> 0.01
    assert.equal(percentagePart(101n, 50), 1n);
    assert.equal(percentagePart(100n, 50), 1n);
    // just below half rounds down: 0.5 % of 0.99 = 0.00495 -> 0.00
    assert.equal(percentagePart(99n, 50), 0n);
    assert.equal(divRoundHalfUp(5n, 10n), 1n);
    assert.equal(divRoundHalfUp(4n, 10n), 0n);
    assert.equal(divRoundHalfUp(15n, 10n), 2n);
  });

  test('fixed plus percentage, clamped to min and max', () => {
    const rule = terms({ fixedMinor: 100n, rateBp: 30, minMinor: 200n, maxMinor: 2500n });
    assert.equal(computeFee(rule, 1000n), 200n, '1.00 + 0.03 is under the 2.00 minimum');
    assert.equal(computeFee(rule, 100_000n), 400n, '1.00 + 3.00');
    assert.equal(computeFee(rule, 100_000_000n), 2500n, 'capped at 25.00');
    assert.equal(computeFee(terms({}), 123_456n), 0n, 'no terms, no fee');
    assert.equal(computeFee(terms({ rateBp: 10_000 }), 777n), 777n, '100 % is the whole amount');
    assert.equal(computeFee(terms({ fixedMinor: 5n }), 0n), 5n);
  });

  test('terms that could break the promises are refused', () => {
    assert.deepEqual(feeTermsViolations(terms({ minMinor: 10n, maxMinor: 9n })), ['min must not exceed max']);
    assert.equal(feeTermsViolations(terms({ rateBp: 10_001 })).length, 1);
    assert.equal(feeTermsViolations(terms({ rateBp: 1.5 })).length, 1);
    assert.equal(feeTermsViolations(terms({ fixedMinor: -1n })).length, 1);
    assert.deepEqual(feeTermsViolations(terms({ fixedMinor: 1n, rateBp: 25, minMinor: 1n, maxMinor: 1n })), []);
  });

  test('the API form parses decimal strings in the rule\'s currency and refuses duplicates', () => {
    const [rule] = feeRulesFrom([{ product: 'PAYOUT_SINGLE', currency: 'CNY', fixed: '1.50', rateBp: 25, min: '2.00' }]);
    assert.deepEqual(rule, { product: 'PAYOUT_SINGLE', currency: 'CNY', fixedMinor: 150n, rateBp: 25, minMinor: 200n, maxMinor: null });
    const [yen] = feeRulesFrom([{ product: 'PAYOUT_BATCH', currency: 'JPY', fixed: '100' }]);
    assert.equal(yen!.fixedMinor, 100n);
    assert.throws(() => feeRulesFrom([{ product: 'PAYOUT_BATCH', currency: 'JPY', fixed: '1.5' }]), { code: 'INVALID_AMOUNT' });
    assert.throws(
      () => feeRulesFrom([{ product: 'PAYOUT_SINGLE', currency: 'CNY' }, { product: 'PAYOUT_SINGLE', currency: 'CNY', rateBp: 1 }]),
      { code: 'VALIDATION_FAILED' },
    );
    assert.throws(() => feeRulesFrom([{ product: 'REFUND', currency: 'CNY' }]), { code: 'VALIDATION_FAILED' });
    assert.throws(() => feeRulesFrom([{ product: 'PAYOUT_SINGLE', currency: 'CNY', min: '3.00', max: '2.00' }]), { code: 'VALIDATION_FAILED' });
  });
});

const amount = fc.bigInt({ min: 0n, max: MAX_AMOUNT_MINOR });
const validTerms = fc
  .record({
    fixedMinor: fc.bigInt({ min: 0n, max: 100_000n }),
    rateBp: fc.integer({ min: 0, max: 10_000 }),
    a: fc.option(fc.bigInt({ min: 0n, max: 1_000_000n }), { nil: null }),
    b: fc.option(fc.bigInt({ min: 0n, max: 1_000_000n }), { nil: null }),
  })
  .map(({ fixedMinor, rateBp, a, b }): FeeTerms => {
    // min <= max whenever both are set, as creation insists
    const [minMinor, maxMinor] = a !== null && b !== null && a > b ? [b, a] : [a, b];
    return { fixedMinor, rateBp, minMinor, maxMinor };
  });

describe('fee maths: properties', () => {
  test('the fee is never negative', () => {
    fc.assert(fc.property(validTerms, amount, (t, x) => computeFee(t, x) >= 0n), { numRuns: 2000 });
  });

  test('the fee lies within [min, max] whenever they are set', () => {
    fc.assert(
      fc.property(validTerms, amount, (t, x) => {
        const fee = computeFee(t, x);
        return (t.minMinor === null || fee >= t.minMinor) && (t.maxMinor === null || fee <= t.maxMinor);
      }),
      { numRuns: 2000 },
    );
  });

  test('the fee never falls when the amount rises', () => {
    fc.assert(
      fc.property(validTerms, amount, fc.bigInt({ min: 0n, max: 10n ** 12n }), (t, x, more) => {
        const y = x + more > MAX_AMOUNT_MINOR ? MAX_AMOUNT_MINOR : x + more;
        return computeFee(t, y) >= computeFee(t, x);
      }),
      { numRuns: 2000 },
    );
  });

  test('without a clamp, the fee is within half a minor unit of fixed + amount x rate exactly', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 100_000n }), fc.integer({ min: 0, max: 10_000 }), amount, (fixedMinor, rateBp, x) => {
        const fee = computeFee({ fixedMinor, rateBp, minMinor: null, maxMinor: null }, x);
        // compare in units of 1/10000 minor: |fee*10000 - (fixed*10000 + x*rate)| <= 5000, and exactly 5000 only rounding up
        const diff = fee * 10_000n - (fixedMinor * 10_000n + x * BigInt(rateBp));
        return diff > -5000n && diff <= 5000n;
      }),
      { numRuns: 2000 },
    );
  });
});
