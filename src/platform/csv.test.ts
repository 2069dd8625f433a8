import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { csvLine } from './csv.ts';

const formulaLike = (cell: string) => /^[=+@\t\r]/.test(cell) || (/^-/.test(cell) && !/^-\d+(\.\d+)?$/.test(cell));

describe('csvLine', () => {
  test('any text reads back as itself, with an apostrophe before what a spreadsheet would run as a formula', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }), { minLength: 1, maxLength: 6 }), (cells) => {
        const [record] = parse(csvLine(cells), { relax_column_count: false }) as string[][];
        assert.deepEqual(record, cells.map((cell) => (formulaLike(cell) ? `'${cell}` : cell)));
      }),
    );
  });

  test('formulas are defused; plain numbers, negative ones too, are left alone', () => {
    assert.equal(csvLine(['=HYPERLINK("http://x")', '+1', '@SUM(A1)', '-2+3', '-12.50', '100.00', null]), `"'=HYPERLINK(""http://x"")",'+1,'@SUM(A1),'-2+3,-12.50,100.00,\r\n`);
  });
});
