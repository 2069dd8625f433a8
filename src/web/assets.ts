/**
 * Static assets, served by Coffer itself (no CDN, no bundler): htmx straight
 * from the installed package and our one stylesheet. Both are read once at
 * start and sent with a strong ETag, so a browser revalidates cheaply.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { CofferApp } from '../platform/http/server.ts';

interface Asset {
  body: Buffer;
  contentType: string;
  etag: string;
}

function asset(path: string, contentType: string): Asset {
  const body = fs.readFileSync(path);
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  return { body, contentType, etag };
}

export function loadAssets(): Record<string, Asset> {
  const require = createRequire(import.meta.url);
  return {
    'htmx.min.js': asset(require.resolve('htmx.org/dist/htmx.min.js'), 'text/javascript; charset=utf-8'),
    'app.css': asset(fileURLToPath(new URL('./assets/app.css', import.meta.url)), 'text/css; charset=utf-8'),
  };
}

export function registerAssets(app: CofferApp): void {
  const assets = loadAssets();
  // Browsers ask for it on every site; "nothing" beats a 404 in every console.
  app.get('/favicon.ico', { schema: { hide: true } }, async (_request, reply) => reply.code(204).send());
  app.get<{ Params: { name: string } }>('/assets/:name', { schema: { hide: true } }, async (request, reply) => {
    const found = Object.hasOwn(assets, request.params.name) ? assets[request.params.name] : undefined;
    if (!found) return reply.code(404).type('text/plain; charset=utf-8').send('Not found');
    reply.header('etag', found.etag).header('cache-control', 'public, max-age=300, must-revalidate');
    if (request.headers['if-none-match'] === found.etag) return reply.code(304).send();
    return reply.type(found.contentType).send(found.body);
  });
}
