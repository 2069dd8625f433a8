/**
 * Shared by the users suites: a real Coffer server (startCoffer) over either
 * store, and a tiny client that talks to it with fetch as a browser or an app would.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { startCoffer, type RunningCoffer, type StartOptions } from '../../src/main.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { createLogger } from '../../src/platform/log.ts';
import type { TestBooks } from '../ledger-http/support.ts';

export { assertProblem, createBooks, sleep, type ApiResponse, type Problem, type TestBooks } from '../ledger-http/support.ts';

export const ADMIN_TOKEN = 'users-admin-token-7d41e0';

export function startServer(books: TestBooks, options: StartOptions = {}, env: Record<string, string> = {}): Promise<RunningCoffer> {
  const config = loadConfig({ PORT: '0', ADMIN_TOKEN, LOG_LEVEL: 'silent', ...books.env, ...env });
  return startCoffer(config, createLogger(config), options);
}

const used = new Set<string>();
/** A China mobile number no other test of the run uses. */
export function newMobile(): string {
  for (;;) {
    const mobile = `139${String(randomInt(0, 100_000_000)).padStart(8, '0')}`;
    if (!used.has(mobile)) {
      used.add(mobile);
      return mobile;
    }
  }
}

export const PASSWORD = 'Coffer-pass-1';

export interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export class Client {
  constructor(readonly base: string) {}

  async request<T = any>(method: string, path: string, options: { body?: unknown; token?: string; cookie?: string; headers?: Record<string, string> } = {}): Promise<Reply<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    if (options.cookie !== undefined) headers.cookie = options.cookie;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as T };
  }

  register(mobile: string, password = PASSWORD) {
    return this.request<{ userId: string }>('POST', '/auth/register', { body: { mobile, password } });
  }

  login(mobile: string, password = PASSWORD, extra: Record<string, unknown> = {}) {
    return this.request<{ token: string; expiresAt: string }>('POST', '/auth/login', { body: { mobile, password, ...extra } });
  }

  profile(auth: { token?: string; cookie?: string }) {
    return this.request<{ userId: string; mobile: string; status: string }>('GET', '/my/profile', auth);
  }

  /** `token: null` sends no Authorization header. */
  admin(method: string, path: string, token: string | null = ADMIN_TOKEN) {
    return this.request(method, path, token === null ? {} : { token });
  }

  /** Registers and logs in a new user; returns its id, mobile and token. */
  async newUser(): Promise<{ userId: string; mobile: string; token: string }> {
    const mobile = newMobile();
    const registered = await this.register(mobile);
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    const login = await this.login(mobile);
    assert.equal(login.status, 200, JSON.stringify(login.body));
    return { userId: registered.body.userId, mobile, token: login.body.token };
  }
}
