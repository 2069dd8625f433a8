import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isId, newId, type Id } from './ids.ts';

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';
const BODY = /^[0-9a-hjkmnp-tv-z]{26}$/; // 10 time chars + 16 random chars, no i, l, o, u

function body(id: string, prefix: string): string {
  assert.ok(id.startsWith(`${prefix}_`), id);
  return id.slice(prefix.length + 1);
}

/** The millisecond timestamp encoded in the first 10 characters. */
function decodeTime(id: string, prefix: string): number {
  let t = 0;
  for (const c of body(id, prefix).slice(0, 10)) t = t * 32 + CROCKFORD.indexOf(c);
  return t;
}

function sleepUntilNextMs(): void {
  const start = Date.now();
  while (Date.now() === start) {
    /* spin: at most about a millisecond */
  }
}

describe('newId', () => {
  it('starts with its prefix and an underscore, then 26 Crockford characters', () => {
    for (const prefix of ['acc', 'po', 'pb', 'evt', 'tr', 'user']) {
      const id = newId(prefix);
      assert.ok(id.startsWith(`${prefix}_`), id);
      assert.equal(id.length, prefix.length + 1 + 26, id);
      assert.match(body(id, prefix), BODY);
    }
  });

  it('is unique over 100k draws, also within one millisecond', () => {
    const n = 100_000;
    const live = new Set<string>();
    for (let i = 0; i < n; i++) live.add(newId('acc'));
    assert.equal(live.size, n);

    const frozen = new Set<string>();
    for (let i = 0; i < n; i++) frozen.add(newId('acc', 1_700_000_000_000));
    assert.equal(frozen.size, n);
  });

  it('uses only the Crockford alphabet, and every random position takes every symbol', () => {
    const seen = Array.from({ length: 16 }, () => new Set<string>());
    for (let i = 0; i < 20_000; i++) {
      const id = newId('po');
      const rest = body(id, 'po');
      assert.match(rest, BODY);
      for (let p = 0; p < 16; p++) seen[p]!.add(rest[10 + p]!);
    }
    // 80 random bits spread over 16 characters: no position may be stuck on a subset
    for (let p = 0; p < 16; p++) assert.equal(seen[p]!.size, 32, `random position ${p}`);
    for (const set of seen) for (const c of set) assert.ok(CROCKFORD.includes(c), c);
  });

  it('encodes the creation time in its first 10 characters', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 50 - 1 }), (ms) => {
        const id = newId('tr', ms);
        assert.match(body(id, 'tr'), BODY);
        assert.equal(decodeTime(id, 'tr'), ms);
      }),
      { numRuns: 2000 },
    );
    const before = Date.now();
    const id = newId('tr');
    const after = Date.now();
    const t = decodeTime(id, 'tr');
    assert.ok(t >= before && t <= after, `${t} not in [${before}, ${after}]`);
  });

  it('sorts by creation time across milliseconds (property over explicit times)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 50 - 2 }), fc.integer({ min: 1, max: 2 ** 40 }), (t1, delta) => {
        const t2 = Math.min(t1 + delta, 2 ** 50 - 1);
        const a = newId('acc', t1);
        const b = newId('acc', t2);
        assert.ok(a < b, `${a} (${t1}) should sort before ${b} (${t2})`);
      }),
      { numRuns: 2000 },
    );
    // neighbouring milliseconds, whatever the random part
    for (let i = 0; i < 1000; i++) {
      const t = 1_700_000_000_000 + i * 7;
      assert.ok(newId('acc', t) < newId('acc', t + 1));
    }
  });

  it('sorts by creation time across milliseconds (real clock)', () => {
    const made: { id: string; at: number }[] = [];
    while (made.length < 40) {
      // several ids per millisecond, each from the real clock; keep those whose millisecond is known
      for (let i = 0; i < 3; i++) {
        const before = Date.now();
        const id = newId('evt');
        const after = Date.now();
        if (before === after) made.push({ id, at: before });
      }
      sleepUntilNextMs();
    }
    const byId = [...made].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    // ids in lexical order have non-decreasing creation times
    for (let i = 1; i < byId.length; i++) assert.ok(byId[i - 1]!.at <= byId[i]!.at, `${byId[i - 1]!.id} / ${byId[i]!.id}`);
    // and ids made in different milliseconds compare as their times do
    for (const x of made) for (const y of made) if (x.at < y.at) assert.ok(x.id < y.id, `${x.id} < ${y.id}`);
  });
});

describe('isId', () => {
  it('accepts ids of its own kind', () => {
    for (const prefix of ['acc', 'po', 'evt']) {
      const id = newId(prefix);
      assert.equal(isId(id, prefix), true, id);
    }
    const value: string = newId('po');
    if (isId(value, 'po')) {
      const typed: Id<'po'> = value; // the guard narrows to the branded type
      assert.ok(typed);
    } else {
      assert.fail('rejected a fresh id');
    }
  });

  it('rejects other kinds, bare prefixes and oversized values', () => {
    const acc = newId('acc');
    const cases: [string, string][] = [
      [acc, 'po'],
      [acc, 'ac'], // a prefix of the prefix is another kind
      [acc, 'acc_'],
      [acc, 'ACC'],
      [newId('po'), 'pb'],
      ['acc_', 'acc'], // nothing after the underscore
      ['acc', 'acc'],
      ['acc-01h', 'acc'],
      ['accx_01h', 'acc'],
      ['', 'acc'],
      [`acc_${'a'.repeat(61)}`, 'acc'], // 65 characters
      [`x${acc}`, 'acc'],
    ];
    for (const [value, prefix] of cases) assert.equal(isId(value, prefix), false, `${value} as ${prefix}`);
    assert.equal(isId(`acc_${'a'.repeat(60)}`, 'acc'), true); // 64 characters is the limit
  });

  it('keeps kinds apart at compile time', () => {
    const acc = newId('acc');
    // @ts-expect-error an account id is not a payout id
    const wrong: Id<'po'> = acc;
    // @ts-expect-error a plain string is not an id
    const plain: Id<'acc'> = 'acc_123';
    assert.ok(wrong && plain);
  });
});
