import { csvLine } from '../../platform/csv.ts';
import type { Break } from './settlement-check.types.ts';

/** The CSV's columns, in order (README "Three-way reconciliation"). */
export const CSV_HEADER = ['date', 'type', 'kind', 'businessId', 'oddSource', 'ledger', 'records', 'bank', 'detail'] as const;

/** The day's breaks: a header line, then one line per break. */
export function breaksCsv(date: string, breaks: Break[]): string {
  const lines = breaks.map((b) => csvLine([date, b.type, b.kind, b.businessId, b.odd ?? '', b.ledger, b.records, b.bank, b.detail]));
  return csvLine(CSV_HEADER) + lines.join('');
}
