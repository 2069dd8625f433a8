import type { IncomingMessage } from 'node:http';
import { newId } from '../ids.ts';

const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * A caller's `x-request-id` is kept so one id follows a request across
 * services; anything that could forge log lines or bloat them is replaced.
 */
export function requestIdFor(raw: IncomingMessage): string {
  const offered = raw.headers['x-request-id'];
  return typeof offered === 'string' && SANE_REQUEST_ID.test(offered) ? offered : newId('req');
}
