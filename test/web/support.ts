/**
 * A browser's part in plain HTTP, for the fast UI suites: a cookie jar, the
 * page's CSRF token read from its forms, form posts with redirects left to the
 * test (every 303 is asserted, not followed blindly).
 */
import assert from 'node:assert/strict';

export interface PageAnswer {
  status: number;
  location: string | null;
  body: string;
  setCookies: string[];
}

export class FormClient {
  readonly cookies = new Map<string, string>();
  /** The `_csrf` of the last page that had a form. */
  csrf: string | undefined;

  constructor(readonly base: string) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  private remember(response: Response): string[] {
    const setCookies = response.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at);
      const value = pair!.slice(at + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return setCookies;
  }

  private async answer(response: Response): Promise<PageAnswer> {
    const setCookies = this.remember(response);
    const body = await response.text();
    const token = /name="_csrf" value="([^"]+)"/.exec(body)?.[1];
    if (token) this.csrf = token;
    return { status: response.status, location: response.headers.get('location'), body, setCookies };
  }

  async get(path: string): Promise<PageAnswer> {
    return this.answer(await fetch(`${this.base}${path}`, { redirect: 'manual', headers: { cookie: this.cookieHeader() } }));
  }

  /** A form post as the browser sends it, with this client's token unless `csrf` says otherwise. */
  async post(path: string, fields: Record<string, string | string[]> = {}, options: { csrf?: string | null; headers?: Record<string, string> } = {}): Promise<PageAnswer> {
    const form = new URLSearchParams();
    const token = options.csrf === undefined ? this.csrf : options.csrf;
    if (token !== null && token !== undefined) form.set('_csrf', token);
    for (const [name, value] of Object.entries(fields)) for (const one of [value].flat()) form.append(name, one);
    const response = await fetch(`${this.base}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: this.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded', ...options.headers },
      body: form.toString(),
    });
    return this.answer(response);
  }

  /** A multipart form post (the batch upload's file input). */
  async upload(path: string, fields: Record<string, string>, file: { name: string; filename: string; content: string }): Promise<PageAnswer> {
    const form = new FormData();
    if (this.csrf) form.set('_csrf', this.csrf);
    for (const [name, value] of Object.entries(fields)) form.set(name, value);
    form.set(file.name, new Blob([file.content], { type: 'text/csv' }), file.filename);
    const response = await fetch(`${this.base}${path}`, { method: 'POST', redirect: 'manual', headers: { cookie: this.cookieHeader() }, body: form });
    return this.answer(response);
  }

  /** Logs in on /ui/operator/login and lands where the UI sends this operator. */
  async operatorLogin(username: string, password: string): Promise<string> {
    await this.get('/ui/operator/login');
    const answer = await this.post('/ui/operator/login', { username, password });
    assert.equal(answer.status, 303, `operator login of ${username}: ${answer.status} ${answer.body.slice(0, 300)}`);
    const location = answer.location!;
    await this.get(location); // the landing page's forms carry the new session's token
    return location;
  }
}
