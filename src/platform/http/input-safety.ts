/**
 * PostgreSQL text cannot hold U+0000, and a lone UTF-16 surrogate cannot be
 * written as UTF-8 (the driver stores U+FFFD instead, so a retried request no
 * longer matches what was stored and is taken for a conflict). Such strings
 * are refused at the edge, wherever they sit in a request, rather than
 * failing in the database as a 500.
 */
const UNSTORABLE = /\u0000|\p{Cs}/u;

/** The JSON pointer (`/metadata/note`) of the first string or key that cannot be stored, or undefined. */
export function findUnstorableString(value: unknown, path = '', seen = new WeakSet<object>()): string | undefined {
  if (typeof value === 'string') return UNSTORABLE.test(value) ? path : undefined;
  if (value === null || typeof value !== 'object' || seen.has(value)) return undefined;
  seen.add(value);
  for (const [key, child] of Object.entries(value)) {
    const at = `${path}/${key}`;
    if (UNSTORABLE.test(key)) return at;
    const found = findUnstorableString(child, at, seen);
    if (found !== undefined) return found;
  }
  return undefined;
}
