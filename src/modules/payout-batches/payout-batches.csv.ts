import { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { csvLine } from '../../platform/csv.ts';
import { DomainError } from '../../platform/errors.ts';
import type { BatchRow, LineError } from './payout-batches.types.ts';

/** SPEC 5, a contract: the header of a batch file, exactly. */
export const HEADER = ['merchantOrderNo', 'amount', 'currency', 'name', 'accountNo', 'bankCode', 'remark'] as const;

/** One data record of the file, or a line the parser could not read. */
export type FileRecord = { line: number; fields: string[] } | { line: number; error: LineError };

/** The longest record accepted (a row is ~100 bytes; this only stops a runaway quoted field). */
const MAX_RECORD_BYTES = 16 * 1024;

export function invalidFile(errors: LineError[]): DomainError {
  const count = errors.length === 1 ? '1 line' : `${errors.length} lines`;
  return new DomainError('PAYOUT_BATCH_INVALID', `The batch file has ${count} in error: nothing was created`, { errors });
}

/**
 * Reads a batch file as a stream (bounded memory: one record at a time) and
 * yields its data records with their line numbers (the header is line 1).
 * Quoted fields, CRLF and a UTF-8 BOM are handled by csv-parse. A record the
 * parser cannot read (a stray quote) is yielded as an error and reading goes
 * on; an unreadable rest of file (an unclosed quote) ends it with an error. A
 * missing or wrong header, or an empty file, is refused at once.
 */
export async function* readBatchFile(source: AsyncIterable<Buffer | string> | string, maxRows: number): AsyncGenerator<FileRecord> {
  const skipped: LineError[] = [];
  const parser = parse({
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
    info: true,
    max_record_size: MAX_RECORD_BYTES,
    skip_records_with_error: true,
    on_skip: (err) => {
      if (err) skipped.push({ line: Number(err.lines), reason: `Malformed CSV: ${err.message}`, code: 'VALIDATION_FAILED' });
    },
  });
  const input = Readable.from(typeof source === 'string' ? [source] : source);
  input.on('error', (err) => parser.destroy(err));
  input.pipe(parser);

  let header = false;
  let rows = 0;
  try {
    for await (const { info, record } of parser as AsyncIterable<{ info: { lines: number }; record: string[] }>) {
      while (skipped.length > 0) yield { line: skipped[0]!.line, error: skipped.shift()! };
      if (!header) {
        if (record.length !== HEADER.length || HEADER.some((name, i) => record[i] !== name)) {
          throw invalidFile([{ line: 1, reason: `The first line must be the header ${HEADER.join(',')}`, code: 'VALIDATION_FAILED' }]);
        }
        header = true;
        continue;
      }
      rows += 1;
      if (rows > maxRows) {
        throw new DomainError('PAYOUT_BATCH_TOO_LARGE', `A batch has at most ${maxRows} rows: split the file`, { maxRows });
      }
      yield { line: info.lines, fields: record };
    }
  } catch (err) {
    if (!(err instanceof CsvError)) throw err;
    // Not recoverable (e.g. a quote never closed): what was read stands, the rest of the file is this error.
    skipped.push({ line: (err as CsvError & { lines?: number }).lines ?? 1, reason: `Malformed CSV: ${err.message}`, code: 'VALIDATION_FAILED' });
  } finally {
    input.destroy();
    parser.destroy();
  }
  for (const error of skipped) yield { line: error.line, error };
  if (!header) throw invalidFile([{ line: 1, reason: `The file is empty: it needs the header ${HEADER.join(',')} and at least one row`, code: 'VALIDATION_FAILED' }]);
}

/** The results file: each input row with its payout, status and error (`csvLine`: quoted, formula-safe). */
export const RESULTS_HEADER = [...HEADER, 'line', 'payoutId', 'status', 'fee', 'errorCode', 'errorMessage'] as const;

export type ResultRow = Pick<
  BatchRow,
  'line' | 'merchantOrderNo' | 'beneficiaryName' | 'beneficiaryAccountNo' | 'beneficiaryBankCode' | 'remark' | 'payoutId' | 'status' | 'errorCode' | 'errorMessage'
> & { amount: string; currency: string; fee: string | null };

export function resultLine(r: ResultRow): string {
  return csvLine([
    r.merchantOrderNo,
    r.amount,
    r.currency,
    r.beneficiaryName,
    r.beneficiaryAccountNo,
    r.beneficiaryBankCode,
    r.remark,
    r.line,
    r.payoutId,
    r.status,
    r.fee,
    r.errorCode,
    r.errorMessage,
  ]);
}
