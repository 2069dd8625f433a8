/** JSON text a peer sent, parsed; undefined when it is not JSON (the caller says what it expected). */
export function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
