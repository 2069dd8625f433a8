import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { evaluateRule, type Figures, levelOf, maskNumber, normalizeNumber, riskDayStart, verificationFor } from './risk.rules.ts';
import type { FiredRule, Rule } from './risk.types.ts';

const base = { name: 'r', flows: ['WITHDRAW' as const], level: 'MEDIUM' as const, enabled: true, version: 1, createdAt: new Date(0), updatedAt: new Date(0), updatedBy: 't' };
const figures = (over: Partial<Figures> = {}): Figures => ({
  amountMinor: 100n,
  currency: 'CNY',
  todayCount: 0,
  todayAmountMinor: 0n,
  recentCount: new Map(),
  beneficiaryKnown: undefined,
  ...over,
});
const rule = (r: Partial<Rule> & Pick<Rule, 'type'>): Rule => ({ ...base, id: 'rrl_t', ...r }) as Rule;

describe('risk rules (pure)', () => {
  test('AMOUNT_THRESHOLD fires exactly when amount >= threshold in its currency', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 15n }), fc.bigInt({ min: 1n, max: 10n ** 15n }), (amount, threshold) => {
        const r = rule({ type: 'AMOUNT_THRESHOLD', thresholdMinor: threshold, currency: 'CNY' });
        assert.equal(evaluateRule(r, figures({ amountMinor: amount })) !== undefined, amount >= threshold);
        assert.equal(evaluateRule(r, figures({ amountMinor: amount, currency: 'USD' })), undefined);
      }),
    );
  });

  test('DAILY_AMOUNT counts this request: fires when today + amount >= threshold', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.bigInt({ min: 1n, max: 10n ** 12n }), (today, amount, threshold) => {
        const r = rule({ type: 'DAILY_AMOUNT', thresholdMinor: threshold, currency: 'CNY' });
        assert.equal(evaluateRule(r, figures({ amountMinor: amount, todayAmountMinor: today })) !== undefined, today + amount >= threshold);
      }),
    );
  });

  test('DAILY_COUNT and VELOCITY count this request', () => {
    const daily = rule({ type: 'DAILY_COUNT', count: 3 });
    assert.equal(evaluateRule(daily, figures({ todayCount: 1 })), undefined);
    assert.ok(evaluateRule(daily, figures({ todayCount: 2 })), 'the 3rd fires');
    const velocity = rule({ type: 'VELOCITY', count: 2, windowMinutes: 5 });
    assert.equal(evaluateRule(velocity, figures({ recentCount: new Map([[10, 5]]) })), undefined, 'other windows do not count');
    assert.ok(evaluateRule(velocity, figures({ recentCount: new Map([[5, 1]]) })), 'the 2nd within 5 minutes fires');
  });

  test('NEW_BENEFICIARY fires only for a named, unknown card or account', () => {
    const r = rule({ type: 'NEW_BENEFICIARY' });
    assert.ok(evaluateRule(r, figures({ beneficiaryKnown: false })), 'unknown fires');
    assert.equal(evaluateRule(r, figures({ beneficiaryKnown: true })), undefined);
    assert.equal(evaluateRule(r, figures({ beneficiaryKnown: undefined })), undefined);
  });

  test('the level is the highest fired; verification grows with it', () => {
    const f = (level: FiredRule['level']): FiredRule => ({ ruleId: null, name: '', type: 'VELOCITY', level, version: 1, detail: '' });
    assert.equal(levelOf([]), 'LOW');
    assert.equal(levelOf([f('MEDIUM'), f('HIGH'), f('MEDIUM')]), 'HIGH');
    assert.equal(levelOf([f('REJECT'), f('MEDIUM')]), 'REJECT');
    assert.deepEqual(verificationFor('HIGH'), ['TRANSACTION_PASSWORD', 'SMS_CODE', 'MANUAL_REVIEW']);
  });

  test('the risk day starts at local midnight of the offset', () => {
    assert.equal(riskDayStart(new Date('2026-11-23T15:59:59.999Z'), 480).toISOString(), '2026-11-22T16:00:00.000Z');
    assert.equal(riskDayStart(new Date('2026-11-23T16:00:00.000Z'), 480).toISOString(), '2026-11-23T16:00:00.000Z');
    assert.equal(riskDayStart(new Date('2026-11-23T10:00:00.000Z'), 0).toISOString(), '2026-11-23T00:00:00.000Z');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4e12 }), fc.integer({ min: 0, max: 840 }), (ms, offset) => {
        const start = riskDayStart(new Date(ms), offset).getTime();
        assert.ok(start <= ms && ms - start < 86_400_000, 'now is within its day');
      }),
    );
  });

  test('numbers are normalized and masked', () => {
    assert.equal(normalizeNumber(' 6222-0200 0000 1234 '), '6222020000001234');
    assert.equal(normalizeNumber('11010119900307123x'), '11010119900307123X');
    assert.equal(maskNumber('6222020000001234'), '6222********1234');
    assert.equal(maskNumber('12345678'), '******78');
  });
});
