/**
 * The web UI's Content-Security-Policy, set on every UI response (it replaces
 * the platform default, which allows inline styles for /docs). Scripts and
 * styles come only from our own /assets; nothing inline, no eval, no frames.
 * htmx is told (meta htmx-config) not to inject its indicator <style> or eval.
 */
export interface CspOptions {
  /** Origins a form on this page may post to besides our own (the bank's hosted pages). */
  formActionOrigins?: string[];
}

export function uiContentSecurityPolicy(options: CspOptions = {}): string {
  const formAction = ["'self'", ...(options.formActionOrigins ?? [])].join(' ');
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "font-src 'self'",
    `form-action ${formAction}`,
    "base-uri 'none'",
    "object-src 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The origin of an absolute URL, for a CSP source list; refuses anything but http(s). */
export function originOf(url: string): string {
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`not an http(s) URL: ${url}`);
  return parsed.origin;
}
