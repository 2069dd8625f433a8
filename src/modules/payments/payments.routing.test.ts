import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { luhnValid, normalizeCardNumber } from './payments.cards.ts';
import { seededRandom } from '../../platform/random.ts';
import { type RoutableChannel, route, type RouteRequest } from './payments.routing.ts';

function channel(code: string, patch: Partial<RoutableChannel> = {}): RoutableChannel {
  return {
    code,
    kind: 'QUICK_PAY',
    methods: ['QUICK_PAY'],
    banks: null,
    currencies: ['CNY', 'USD'],
    minAmountMinor: 1n,
    maxAmountMinor: 1_000_000n,
    priority: 10,
    weight: 50,
    enabled: true,
    circuit: 'CLOSED',
    ...patch,
  };
}

const request: RouteRequest = { method: 'QUICK_PAY', currency: 'CNY', bankCode: 'ICBC', amountMinor: 10_000n };

describe('routing (pure)', () => {
  test('every ineligible channel says why; the eligible ones are ordered', () => {
    const channels = [
      channel('OFF', { enabled: false }),
      channel('DD', { kind: 'DIRECT_DEBIT', methods: ['DIRECT_DEBIT'] }),
      channel('NOT_CONFIGURED', { methods: [] }),
      channel('EUR', { currencies: ['EUR'] }),
      channel('CMB_ONLY', { banks: ['CMB'] }),
      channel('BIG', { minAmountMinor: 50_000n }),
      channel('SMALL', { maxAmountMinor: 5_000n }),
      channel('TRIPPED', { circuit: 'OPEN' }),
      channel('TRIED'),
      channel('TRIAL', { circuit: 'HALF_OPEN' }),
      channel('OK', { banks: [] }),
    ];
    const result = route(channels, { ...request, exclude: ['TRIED'] }, () => 0);
    assert.deepEqual(result.candidates, [
      { code: 'OFF', eligible: false, reason: 'DISABLED' },
      { code: 'DD', eligible: false, reason: 'METHOD_NOT_SUPPORTED' },
      { code: 'NOT_CONFIGURED', eligible: false, reason: 'METHOD_NOT_SUPPORTED' },
      { code: 'EUR', eligible: false, reason: 'CURRENCY_NOT_SUPPORTED' },
      { code: 'CMB_ONLY', eligible: false, reason: 'BANK_NOT_SUPPORTED' },
      { code: 'BIG', eligible: false, reason: 'AMOUNT_BELOW_MIN' },
      { code: 'SMALL', eligible: false, reason: 'AMOUNT_ABOVE_MAX' },
      { code: 'TRIPPED', eligible: false, reason: 'CIRCUIT_OPEN' },
      { code: 'TRIED', eligible: false, reason: 'ALREADY_TRIED' },
      { code: 'TRIAL', eligible: true },
      { code: 'OK', eligible: true },
    ]);
    assert.deepEqual(result.order.sort(), ['OK', 'TRIAL']);
    assert.equal(result.rule, 'WEIGHT');
  });

  test('the lowest priority number comes first, then the rest by priority (the fallback order)', () => {
    const result = route([channel('C', { priority: 30 }), channel('A', { priority: 20 }), channel('B', { priority: 10 })], request, Math.random);
    assert.deepEqual(result, { candidates: result.candidates, order: ['B', 'A', 'C'], rule: 'PRIORITY' });
  });

  test('no eligible channel: an empty order and rule NONE', () => {
    assert.deepEqual(route([channel('X', { enabled: false })], request, Math.random).order, []);
    assert.equal(route([], request, Math.random).rule, 'NONE');
  });

  test('weights share the first pick among channels of the same priority (70/30 over 20 000 seeded draws)', () => {
    const random = seededRandom(42);
    const channels = [channel('ALPHA', { weight: 70 }), channel('BETA', { weight: 30 }), channel('LATER', { priority: 20, weight: 1000 })];
    let alpha = 0;
    for (let i = 0; i < 20_000; i++) {
      const { order } = route(channels, request, random);
      if (order[0] === 'ALPHA') alpha += 1;
      assert.equal(order[2], 'LATER', 'a heavier channel of a later priority never jumps the queue');
    }
    assert.ok(Math.abs(alpha / 20_000 - 0.7) < 0.02, `ALPHA first ${alpha} times of 20000`);
  });

  test('a zero weight is never drawn while another of its priority has weight', () => {
    const random = seededRandom(1);
    for (let i = 0; i < 1000; i++) assert.equal(route([channel('ZERO', { weight: 0 }), channel('ONE', { weight: 1 })], request, random).order[0], 'ONE');
  });

  test('the same seed draws the same routes', () => {
    const channels = [channel('A', { weight: 1 }), channel('B', { weight: 1 }), channel('C', { weight: 1 })];
    const draw = (seed: number) => Array.from({ length: 50 }, ((random) => () => route(channels, request, random).order.join())(seededRandom(seed)));
    assert.deepEqual(draw(9), draw(9));
  });

  test('property: the order is exactly the eligible channels, each once, sorted by priority, the first from the lowest priority', () => {
    const arbitraryChannel = fc.record({
      enabled: fc.boolean(),
      kind: fc.constantFrom('QUICK_PAY' as const, 'DIRECT_DEBIT' as const),
      currencies: fc.subarray(['CNY', 'USD', 'EUR'] as const, { minLength: 1 }),
      banks: fc.option(fc.subarray(['ICBC', 'CMB', 'BOC']), { nil: null }),
      minAmountMinor: fc.bigInt({ min: 1n, max: 20_000n }),
      span: fc.bigInt({ min: 0n, max: 50_000n }),
      priority: fc.integer({ min: 0, max: 3 }),
      weight: fc.integer({ min: 0, max: 100 }),
      circuit: fc.constantFrom('CLOSED' as const, 'OPEN' as const, 'HALF_OPEN' as const),
    });
    fc.assert(
      fc.property(fc.array(arbitraryChannel, { maxLength: 8 }), fc.bigInt({ min: 1n, max: 60_000n }), fc.integer(), (specs, amountMinor, seed) => {
        const channels = specs.map((s, i) =>
          channel(`CH${i}`, { ...s, methods: [s.kind], currencies: [...s.currencies], maxAmountMinor: s.minAmountMinor + s.span }),
        );
        const req = { ...request, amountMinor };
        const result = route(channels, req, seededRandom(seed));
        const eligible = result.candidates.filter((c) => c.eligible).map((c) => c.code);
        assert.deepEqual([...result.order].sort(), [...eligible].sort());
        const priorityOf = (code: string) => channels.find((c) => c.code === code)!.priority;
        const priorities = result.order.map(priorityOf);
        if (priorities.length > 0) assert.equal(priorities[0], Math.min(...priorities));
        assert.deepEqual(priorities.slice(1), [...priorities.slice(1)].sort((a, b) => a - b));
        for (const c of result.candidates) {
          const ch = channels.find((x) => x.code === c.code)!;
          const fits = ch.enabled && ch.kind === 'QUICK_PAY' && ch.currencies.includes('CNY') && (!ch.banks || ch.banks.length === 0 || ch.banks.includes('ICBC'))
            && amountMinor >= ch.minAmountMinor && amountMinor <= ch.maxAmountMinor && ch.circuit !== 'OPEN';
          assert.equal(c.eligible, fits, JSON.stringify(c));
        }
      }),
      { seed: 20261204, numRuns: 500 },
    );
  });
});

describe('card numbers', () => {
  test('Luhn: known good numbers pass, any one changed digit fails', () => {
    for (const number of ['4242424242424242', '4000056655665556', '79927398713']) {
      assert.equal(luhnValid(number), true, number);
      for (let i = 0; i < number.length; i++) {
        const changed = number.slice(0, i) + String((Number(number[i]) + 1) % 10) + number.slice(i + 1);
        assert.equal(luhnValid(changed), false, changed);
      }
    }
  });

  test('normalized without spaces and dashes; bad ones are CARD_NUMBER_INVALID', () => {
    assert.equal(normalizeCardNumber('4242 4242-4242 4242'), '4242424242424242');
    for (const bad of ['4242424242424241', '42424242', 'abcd4242424242424242', '4'.repeat(20)]) {
      assert.throws(() => normalizeCardNumber(bad), /CARD_NUMBER_INVALID|Luhn/);
    }
  });
});
