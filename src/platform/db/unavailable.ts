/**
 * Whether an error means the database could not be reached or dropped the
 * connection (a restart, a network cut, a full pool), rather than refusing a
 * statement. Such a request may be retried once the database is back; every
 * Coffer write is safe to retry.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let at = error, depth = 0; at instanceof Error && depth < 5; at = at.cause, depth++) {
    const { code } = at as { code?: unknown };
    if (typeof code === 'string' && (CONNECTION_SQLSTATE.test(code) || NETWORK_CODES.has(code))) return true;
    if (DRIVER_MESSAGES.some((message) => at.message.includes(message))) return true;
  }
  return false;
}

/** SQLSTATE class 08 (connection exception), and 57P01-57P03 (the server is shutting down or starting). */
const CONNECTION_SQLSTATE = /^(08[0-9A-Z]{3}|57P0[123])$/;
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);
/** What node-postgres says when a connection ends or the pool cannot open one in time. */
const DRIVER_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
];
