import type { Break } from './settlement-check.types.ts';

/** The CSV's columns, in order (README "Three-way reconciliation"). */
export const CSV_HEADER = ['date', 'type', 'kind', 'businessId', 'oddSource', 'ledger', 'records', 'bank', 'detail'] as const;

/**
 * RFC 4180 quoting, and a leading apostrophe for a cell a spreadsheet would
 * run as a formula (`=`, `+`, `-`, `@`, tab, CR): ids and the bank's words are
 * text from outside Coffer.
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** The day's breaks: a header line, then one line per break. */
export function breaksCsv(date: string, breaks: Break[]): string {
  const lines = [CSV_HEADER.join(',')];
  for (const b of breaks) {
    lines.push([date, b.type, b.kind, b.businessId, b.odd ?? '', b.ledger, b.records, b.bank, b.detail].map(csvCell).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
