/**
 * Writing CSV files people open in spreadsheets: RFC 4180 quoting, CRLF line
 * ends, and a leading apostrophe on text a spreadsheet would run as a formula
 * (`=`, `+`, `@`, a tab or CR, or `-` that is not a plain number). Cells often
 * hold a merchant's or user's own text, so every cell goes through this.
 */
export function csvField(value: string): string {
  const safe = /^[=+@\t\r]/.test(value) || (/^-/.test(value) && !/^-\d+(\.\d+)?$/.test(value)) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** One CSV record with its CRLF; null is an empty cell. */
export function csvLine(fields: readonly (string | number | bigint | null)[]): string {
  return `${fields.map((f) => (f === null ? '' : csvField(String(f)))).join(',')}\r\n`;
}
