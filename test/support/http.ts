/** A JSON call as a browser's script or a user's app makes it: bearer token, JSON in, JSON (or text) out. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function callJson(url: string, method: string, body?: unknown, bearer?: string): Promise<{ status: number; body: any }> {
  const response = await fetch(url, {
    method,
    headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text && response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}
