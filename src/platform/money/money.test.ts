import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DomainError, type ErrorCode } from '../errors.ts';
import {
  addMoney,
  compareMoney,
  currencies,
  currencyCode,
  exponentOf,
  formatMinor,
  formatMoney,
  isCurrencyCode,
  MAX_AMOUNT_MINOR,
  money,
  parseMoney,
  subtractMoney,
  type CurrencyCode,
  type Money,
  type ParseOptions,
} from './money.ts';

const ALL = Object.keys(currencies) as CurrencyCode[];
const TWO_DECIMALS = ALL.filter((c) => exponentOf(c) === 2);
const NO_DECIMALS = ALL.filter((c) => exponentOf(c) === 0);
const SIGNED: ParseOptions = { allowNegative: true, allowZero: true };

function throwsCode(fn: () => unknown, code: ErrorCode, label?: string): void {
  assert.throws(
    fn,
    (err: unknown) => {
      assert.ok(err instanceof DomainError, `${label ?? ''}: expected a DomainError, got ${String(err)}`);
      assert.equal(err.code, code, label);
      return true;
    },
    label,
  );
}

const currencyArb = fc.constantFrom(...ALL);
const amountArb = fc.bigInt({ min: -MAX_AMOUNT_MINOR, max: MAX_AMOUNT_MINOR });
const positiveArb = fc.bigInt({ min: 1n, max: MAX_AMOUNT_MINOR });
const moneyArb = (currency: CurrencyCode, arb = amountArb) => arb.map((m) => money(m, currency));

/**
 * A canonical decimal string built digit by digit (independently of formatMinor):
 * an optional "-", the whole part without leading zeros, and exactly `exponent` decimals.
 */
const canonicalArb = (currency: CurrencyCode) => {
  const exponent = exponentOf(currency);
  const scale = 10n ** BigInt(exponent);
  return fc
    .record({
      negative: fc.boolean(),
      whole: fc.bigInt({ min: 0n, max: MAX_AMOUNT_MINOR / scale }),
      fraction: fc.bigInt({ min: 0n, max: scale - 1n }),
    })
    .filter(({ whole, fraction, negative }) => !(negative && whole === 0n && fraction === 0n))
    .map(({ negative, whole, fraction }) => ({
      text: `${negative ? '-' : ''}${whole}${exponent > 0 ? `.${fraction.toString().padStart(exponent, '0')}` : ''}`,
      minor: (negative ? -1n : 1n) * (whole * scale + fraction),
    }));
};

/** An independent, character-by-character model of what parseMoney accepts (undefined = rejected). */
function expectedMinor(text: string, currency: CurrencyCode, options: ParseOptions = {}): bigint | undefined {
  const exponent = exponentOf(currency);
  const negative = text.startsWith('-');
  const body = negative ? text.slice(1) : text;
  const dot = body.indexOf('.');
  const whole = dot === -1 ? body : body.slice(0, dot);
  const fraction = dot === -1 ? '' : body.slice(dot + 1);
  const digitsOnly = (s: string) => s.length > 0 && [...s].every((c) => c >= '0' && c <= '9');
  if (!digitsOnly(whole)) return undefined;
  if (whole.length > 1 && whole.startsWith('0')) return undefined;
  if (dot !== -1 && !digitsOnly(fraction)) return undefined;
  if (fraction.length > exponent) return undefined;
  let value = 0n;
  for (const c of whole + fraction.padEnd(exponent, '0')) value = value * 10n + BigInt(c.charCodeAt(0) - 48);
  if (value > MAX_AMOUNT_MINOR) return undefined;
  if (negative && value === 0n) return undefined; // "-0" is not an amount anyone means
  if (negative && !options.allowNegative) return undefined;
  if (value === 0n && !options.allowZero) return undefined;
  return negative ? -value : value;
}

describe('currencies', () => {
  it('knows the exponents of the currencies it supports', () => {
    assert.equal(exponentOf('CNY'), 2);
    assert.equal(exponentOf('USD'), 2);
    assert.equal(exponentOf('JPY'), 0);
    assert.ok(ALL.length >= 3);
    for (const c of ALL) assert.ok([0, 2].includes(exponentOf(c)), c);
  });

  it('currencyCode accepts every supported code and returns it unchanged', () => {
    for (const c of ALL) {
      assert.equal(currencyCode(c), c);
      assert.equal(isCurrencyCode(c), true);
    }
  });

  it('currencyCode rejects unknown codes with UNSUPPORTED_CURRENCY', () => {
    for (const bad of ['', 'XXX', 'cny', 'Cny', 'CNY ', ' CNY', 'RMB', 'BTC', 'US', 'USDT', '__proto__', 'toString', 'constructor', 'hasOwnProperty', 'valueOf']) {
      throwsCode(() => currencyCode(bad), 'UNSUPPORTED_CURRENCY', JSON.stringify(bad));
      assert.equal(isCurrencyCode(bad), false, bad);
    }
  });

  it('currencyCode rejects any string that is not a supported code (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 6 }), (s) => {
        if (ALL.includes(s as CurrencyCode)) return;
        throwsCode(() => currencyCode(s), 'UNSUPPORTED_CURRENCY', s);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('formatMinor', () => {
  it('formats known examples', () => {
    const cases: [bigint, CurrencyCode, string][] = [
      [10050n, 'CNY', '100.50'],
      [10000n, 'USD', '100.00'],
      [5n, 'CNY', '0.05'],
      [50n, 'CNY', '0.50'],
      [0n, 'CNY', '0.00'],
      [-5n, 'CNY', '-0.05'],
      [-12345n, 'EUR', '-123.45'],
      [100n, 'JPY', '100'],
      [0n, 'JPY', '0'],
      [-1n, 'JPY', '-1'],
      [MAX_AMOUNT_MINOR, 'CNY', '9999999999999.99'],
      [MAX_AMOUNT_MINOR, 'JPY', '999999999999999'],
      [-MAX_AMOUNT_MINOR, 'USD', '-9999999999999.99'],
      [9007199254740993n, 'KRW', '9007199254740993'], // 2^53 + 1: a float would lose it
    ];
    for (const [minor, currency, text] of cases) {
      assert.equal(formatMinor(minor, currency), text, `${minor} ${currency}`);
      assert.equal(formatMoney(money(minor, currency)), text);
    }
  });
});

describe('parseMoney', () => {
  it('parses known examples', () => {
    const cases: [string, CurrencyCode, bigint][] = [
      ['100.50', 'CNY', 10050n],
      ['100.5', 'CNY', 10050n],
      ['100', 'CNY', 10000n],
      ['0.01', 'CNY', 1n],
      ['0.1', 'USD', 10n],
      ['1', 'JPY', 1n],
      ['123456', 'KRW', 123456n],
      ['9999999999999.99', 'CNY', MAX_AMOUNT_MINOR],
      ['999999999999999', 'JPY', MAX_AMOUNT_MINOR],
      ['1234567890123.45', 'CNY', 123456789012345n],
    ];
    for (const [text, currency, minor] of cases) {
      assert.deepEqual(parseMoney(text, currency), { amountMinor: minor, currency }, `${text} ${currency}`);
    }
  });

  it('parses negatives and zero only when allowed', () => {
    assert.equal(parseMoney('-1.50', 'CNY', { allowNegative: true }).amountMinor, -150n);
    assert.equal(parseMoney('-9999999999999.99', 'CNY', { allowNegative: true }).amountMinor, -MAX_AMOUNT_MINOR);
    assert.equal(parseMoney('-7', 'JPY', { allowNegative: true }).amountMinor, -7n);
    assert.equal(parseMoney('0', 'CNY', { allowZero: true }).amountMinor, 0n);
    assert.equal(parseMoney('0.00', 'CNY', { allowZero: true }).amountMinor, 0n);
    assert.equal(parseMoney('0', 'JPY', { allowZero: true }).amountMinor, 0n);
  });

  for (const currency of ALL) {
    it(`${currency}: format(parse(s)) is s for every canonical string, and parse gives its value`, () => {
      fc.assert(
        fc.property(canonicalArb(currency), ({ text, minor }) => {
          const parsed = parseMoney(text, currency, SIGNED);
          assert.equal(parsed.amountMinor, minor);
          assert.equal(parsed.currency, currency);
          assert.equal(formatMoney(parsed), text);
        }),
        { numRuns: 1000 },
      );
    });

    it(`${currency}: parse(format(m)) is m for every amount in range`, () => {
      fc.assert(
        fc.property(amountArb, (minor) => {
          const text = formatMinor(minor, currency);
          assert.deepEqual(parseMoney(text, currency, SIGNED), { amountMinor: minor, currency });
          // the positive ones parse with the default (strict) options too
          if (minor > 0n) assert.equal(parseMoney(text, currency).amountMinor, minor);
          else throwsCode(() => parseMoney(text, currency), 'INVALID_AMOUNT', text);
        }),
        { numRuns: 1000 },
      );
    });

    it(`${currency}: agrees with an independent model of the grammar on arbitrary input`, () => {
      const near = fc.string({
        unit: fc.constantFrom('0', '0', '1', '5', '9', '.', '.', '-', '+', 'e', 'E', ' ', ',', '_', '\n', '\u0661', '\uff11'),
        maxLength: 20,
      });
      const mutated = canonicalArb(currency).chain(({ text }) =>
        fc.tuple(fc.nat({ max: text.length }), fc.nat({ max: 2 }), fc.string({ maxLength: 2 })).map(
          ([at, drop, insert]) => text.slice(0, at) + insert + text.slice(at + drop),
        ),
      );
      const options = fc.record({ allowNegative: fc.boolean(), allowZero: fc.boolean() });
      fc.assert(
        fc.property(fc.oneof(near, mutated, fc.string({ unit: 'binary', maxLength: 30 })), options, (text, opts) => {
          const expected = expectedMinor(text, currency, opts);
          let actual: bigint | undefined;
          try {
            actual = parseMoney(text, currency, opts).amountMinor;
          } catch (err) {
            assert.ok(err instanceof DomainError, `non-domain error for ${JSON.stringify(text)}: ${String(err)}`);
            assert.equal(err.code, 'INVALID_AMOUNT');
          }
          assert.equal(actual, expected, `${JSON.stringify(text)} ${currency} ${JSON.stringify(opts)}`);
        }),
        { numRuns: 3000 },
      );
    });
  }

  it('rejects everything that is not a plain decimal string, with INVALID_AMOUNT', () => {
    const bad = [
      '', ' ', '-', '.', '+', '1e3', '1E3', '1e-2', '+1', '+1.00', ' 1', '1 ', '\t1', '1\n', '\n1', '1\u00a0',
      '01', '00', '00.50', '-01', '.5', '-.5', '5.', '5.-', '1..0', '1.2.3', '--1', '-+1', '1-', '1,000', '1,00',
      '1_000', '1 000', '1\'000', 'NaN', 'nan', 'Infinity', '-Infinity', 'infinity', '0x10', '0b1', '0o7', '1/2',
      '١٢', '１２', '1.٥', 'one', 'null', 'undefined', 'true', '10n', '$1', '1$', '¥100', '100 CNY', '0.5%',
    ];
    for (const currency of ALL) {
      for (const text of bad) {
        throwsCode(() => parseMoney(text, currency, SIGNED), 'INVALID_AMOUNT', `${JSON.stringify(text)} ${currency}`);
      }
    }
  });

  it('rejects non-strings, numbers included', () => {
    const values: unknown[] = [1.5, 100, 0, -1, Number.NaN, Infinity, 100n, null, undefined, true, {}, [], ['1'], new String('1'), { amountMinor: 1n, currency: 'CNY' }];
    for (const value of values) {
      throwsCode(() => parseMoney(value, 'CNY', SIGNED), 'INVALID_AMOUNT', String(value));
    }
  });

  it('rejects more decimals than the currency has', () => {
    for (const c of NO_DECIMALS) {
      for (const text of ['1.5', '1.0', '0.0', '100.00', '-1.5']) throwsCode(() => parseMoney(text, c, SIGNED), 'INVALID_AMOUNT', `${text} ${c}`);
    }
    for (const c of TWO_DECIMALS) {
      for (const text of ['1.005', '1.000', '0.001', '0.000', '-1.005', '1.0000000001']) {
        throwsCode(() => parseMoney(text, c, SIGNED), 'INVALID_AMOUNT', `${text} ${c}`);
      }
    }
    assert.match(
      (() => {
        try {
          parseMoney('1.005', 'CNY');
        } catch (err) {
          return (err as Error).message;
        }
        return '';
      })(),
      /CNY.*2 decimals/,
    );
  });

  it('rejects amounts beyond MAX_AMOUNT_MINOR in either direction', () => {
    const cases: [string, CurrencyCode][] = [
      ['10000000000000.00', 'CNY'],
      ['10000000000000', 'USD'],
      ['-10000000000000.00', 'CNY'],
      ['1000000000000000', 'JPY'],
      ['-1000000000000000', 'KRW'],
      ['99999999999999999999999999999999999999', 'CNY'],
      ['9'.repeat(39), 'JPY'],
      ['1'.repeat(10_000), 'JPY'],
    ];
    for (const [text, currency] of cases) {
      throwsCode(() => parseMoney(text, currency, SIGNED), 'INVALID_AMOUNT', `${text.slice(0, 20)} ${currency}`);
    }
    fc.assert(
      fc.property(currencyArb, fc.bigInt({ min: MAX_AMOUNT_MINOR + 1n, max: MAX_AMOUNT_MINOR * 1000n }), fc.boolean(), (currency, minor, negative) => {
        const text = formatMinor(negative ? -minor : minor, currency);
        throwsCode(() => parseMoney(text, currency, SIGNED), 'INVALID_AMOUNT', text);
      }),
    );
  });

  it('keeps the error message short for huge input', () => {
    try {
      parseMoney('x'.repeat(100_000), 'CNY');
      assert.fail('accepted');
    } catch (err) {
      assert.ok(err instanceof DomainError);
      assert.equal(err.code, 'INVALID_AMOUNT');
      assert.ok(err.message.length < 200, err.message);
    }
  });

  it('rejects negatives unless allowNegative', () => {
    fc.assert(
      fc.property(currencyArb, positiveArb, (currency, minor) => {
        const text = formatMinor(-minor, currency);
        throwsCode(() => parseMoney(text, currency), 'INVALID_AMOUNT', text);
        throwsCode(() => parseMoney(text, currency, { allowZero: true }), 'INVALID_AMOUNT', text);
        assert.equal(parseMoney(text, currency, { allowNegative: true }).amountMinor, -minor);
      }),
    );
  });

  it('rejects zero unless allowZero, in every spelling', () => {
    for (const currency of ALL) {
      const zeros = exponentOf(currency) === 0 ? ['0'] : ['0', '0.0', '0.00'];
      for (const text of zeros) {
        throwsCode(() => parseMoney(text, currency), 'INVALID_AMOUNT', `${text} ${currency}`);
        throwsCode(() => parseMoney(text, currency, { allowNegative: true }), 'INVALID_AMOUNT', `${text} ${currency}`);
        assert.equal(parseMoney(text, currency, { allowZero: true }).amountMinor, 0n);
      }
    }
  });

  it('rejects negative zero ("-0", "-0.00") even when negatives and zero are allowed', () => {
    for (const currency of ALL) {
      for (const text of ['-0', '-0.0', '-0.00']) {
        throwsCode(() => parseMoney(text, currency, SIGNED), 'INVALID_AMOUNT', `${text} ${currency}`);
      }
    }
  });

  it('reads fewer decimals than the exponent as the same amount (1.5 == 1.50)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TWO_DECIMALS), fc.bigInt({ min: 1n, max: MAX_AMOUNT_MINOR / 100n }), fc.nat({ max: 9 }), (currency, whole, tenths) => {
        assert.equal(parseMoney(`${whole}.${tenths}`, currency).amountMinor, parseMoney(`${whole}.${tenths}0`, currency).amountMinor);
        assert.equal(parseMoney(`${whole}`, currency).amountMinor, whole * 100n);
        assert.equal(formatMoney(parseMoney(`${whole}.${tenths}`, currency)), `${whole}.${tenths}0`);
      }),
    );
  });
});

describe('arithmetic', () => {
  it('add, subtract and compare refuse mixed currencies with CURRENCY_MISMATCH', () => {
    fc.assert(
      fc.property(currencyArb, currencyArb, amountArb, amountArb, (ca, cb, a, b) => {
        fc.pre(ca !== cb);
        const x = money(a, ca);
        const y = money(b, cb);
        throwsCode(() => addMoney(x, y), 'CURRENCY_MISMATCH');
        throwsCode(() => subtractMoney(x, y), 'CURRENCY_MISMATCH');
        throwsCode(() => compareMoney(x, y), 'CURRENCY_MISMATCH');
      }),
    );
    // same exponent is still a different currency
    throwsCode(() => addMoney(money(1n, 'CNY'), money(1n, 'USD')), 'CURRENCY_MISMATCH');
    throwsCode(() => compareMoney(money(0n, 'JPY'), money(0n, 'KRW')), 'CURRENCY_MISMATCH');
  });

  it('is exact: a + b - b == a, beyond the range of a float', () => {
    fc.assert(
      fc.property(currencyArb, amountArb, amountArb, (currency, a, b) => {
        const x = money(a, currency);
        const y = money(b, currency);
        const sum = addMoney(x, y);
        assert.equal(sum.amountMinor, a + b);
        assert.equal(sum.currency, currency);
        assert.deepEqual(subtractMoney(sum, y), x);
        assert.deepEqual(addMoney(subtractMoney(x, y), y), x);
      }),
      { numRuns: 2000 },
    );
    const big = money(9007199254740993n, 'CNY');
    assert.equal(addMoney(big, money(1n, 'CNY')).amountMinor, 9007199254740994n);
    assert.equal(subtractMoney(big, money(1n, 'CNY')).amountMinor, 9007199254740992n);
  });

  it('add is commutative and associative, zero is neutral', () => {
    fc.assert(
      fc.property(currencyArb.chain((c) => fc.tuple(moneyArb(c), moneyArb(c), moneyArb(c))), ([x, y, z]) => {
        assert.deepEqual(addMoney(x, y), addMoney(y, x));
        assert.deepEqual(addMoney(addMoney(x, y), z), addMoney(x, addMoney(y, z)));
        assert.deepEqual(addMoney(x, money(0n, x.currency)), x);
        assert.deepEqual(subtractMoney(x, x), money(0n, x.currency));
      }),
    );
  });

  it('does not mutate its operands', () => {
    const x: Money = money(150n, 'CNY');
    const y: Money = money(50n, 'CNY');
    addMoney(x, y);
    subtractMoney(x, y);
    compareMoney(x, y);
    assert.deepEqual(x, { amountMinor: 150n, currency: 'CNY' });
    assert.deepEqual(y, { amountMinor: 50n, currency: 'CNY' });
  });

  it('compare is a total order consistent with subtraction', () => {
    fc.assert(
      fc.property(currencyArb.chain((c) => fc.tuple(moneyArb(c), moneyArb(c), moneyArb(c))), ([x, y, z]) => {
        const c = compareMoney(x, y);
        const diff = subtractMoney(x, y).amountMinor;
        assert.equal(c, diff < 0n ? -1 : diff > 0n ? 1 : 0);
        assert.equal(compareMoney(y, x), -c || 0);
        assert.equal(compareMoney(x, x), 0);
        if (compareMoney(x, y) <= 0 && compareMoney(y, z) <= 0) assert.ok(compareMoney(x, z) <= 0);
      }),
      { numRuns: 1000 },
    );
    assert.equal(compareMoney(money(-1n, 'JPY'), money(0n, 'JPY')), -1);
    assert.equal(compareMoney(money(100n, 'USD'), money(99n, 'USD')), 1);
    assert.equal(compareMoney(money(7n, 'USD'), money(7n, 'USD')), 0);
  });
});
