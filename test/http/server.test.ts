import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Type } from 'typebox';
import { loadConfig } from '../../src/platform/config.ts';
import { DomainError } from '../../src/platform/errors.ts';
import { adminSecurity } from '../../src/platform/http/auth.ts';
import { buildHttpServer, type HttpModule } from '../../src/platform/http/server.ts';
import { createLogger } from '../../src/platform/log.ts';
import { createMetrics } from '../../src/platform/metrics.ts';
import { openTestStore } from '../support/stores.ts';

const ADMIN_TOKEN = 'test-admin-token-0123456789';
const PUBLIC_URL = 'http://coffer.test';

/** Routes that exist only to drive the platform layer through each of its paths. */
const testRoutes: HttpModule = {
  name: 'test-routes',
  register(app) {
    app.post(
      '/test/echo',
      {
        schema: {
          body: Type.Object(
            { amount: Type.String({ pattern: '^[0-9]+\\.[0-9]{2}$' }), currency: Type.String() },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ amount: Type.String() }) },
        },
      },
      async (request) => ({ amount: request.body.amount }),
    );
    app.get('/test/items/:itemId', async () => ({ ok: true }));
    app.get('/test/domain-error', async () => {
      throw new DomainError('INSUFFICIENT_FUNDS', 'The wallet has 1.00 CNY available', { availableAmount: '1.00' });
    });
    app.get('/test/crash', async () => {
      throw new Error('connection to db-7 failed with password hunter2');
    });
    app.get('/test/bigint', async () => ({ amount: 10050n }));
    app.get('/test/log', async (request) => {
      request.log.info('inside the handler');
      return { ok: true };
    });
    app.get(
      '/test/admin',
      { preHandler: app.requireAdmin, schema: { security: adminSecurity } },
      async (request) => ({ admin: request.admin?.id ?? null }),
    );
  },
};

type LogLine = Record<string, unknown> & { msg?: string; reqId?: string; level?: string };

async function startTestServer(env: Record<string, string> = {}) {
  const store = await openTestStore('pglite');
  const config = loadConfig({ PUBLIC_URL, LOG_LEVEL: 'info', ...env });
  const logs: LogLine[] = [];
  const logger = createLogger(config, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  const app = await buildHttpServer({ config, store, logger, metrics: createMetrics(), modules: [testRoutes] });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    store,
    logs,
    base: `http://127.0.0.1:${port}`,
    async close() {
      await app.close();
      await store.dispose();
    },
  };
}

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

async function problemOf(response: Response) {
  assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  return (await response.json()) as Record<string, unknown> & { code: string; requestId: string; detail: string };
}

function postJson(url: string, body: string, contentType = 'application/json') {
  return fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });
}

describe('the HTTP platform', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ ADMIN_TOKEN });
  });
  after(() => server.close());

  test('/healthz answers ok with the security headers', async () => {
    const response = await fetch(`${server.base}/healthz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'ok' });
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
    assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  });

  test('/readyz answers ok while the database answers', async () => {
    const response = await fetch(`${server.base}/readyz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'ok' });
  });

  test('/openapi.json describes the API as OpenAPI 3 with an admin bearer scheme', async () => {
    const response = await fetch(`${server.base}/openapi.json`);
    assert.equal(response.status, 200);
    const spec = (await response.json()) as {
      openapi: string;
      info: { title: string };
      paths: Record<string, unknown>;
      components: { securitySchemes: Record<string, { type: string; scheme: string }> };
    };
    assert.match(spec.openapi, /^3\./);
    assert.equal(spec.info.title, 'Coffer');
    assert.ok(spec.paths['/healthz'] && spec.paths['/test/echo'] && spec.paths['/errors']);
    assert.equal(spec.paths['/metrics'], undefined, 'operational endpoints stay out of the API description');
    assert.deepEqual(spec.components.securitySchemes.adminToken, {
      type: 'http',
      scheme: 'bearer',
      description: 'The ADMIN_TOKEN bootstrap credential',
    });
  });

  test('/docs serves the interactive docs page and its assets', async () => {
    const response = await fetch(`${server.base}/docs`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/html/);
    const html = await response.text();
    assert.match(html, /swagger-ui/i);
    const script = /<script src="([^"]*swagger-initializer\.js)"/.exec(html)?.[1];
    assert.ok(script, 'the page loads its initializer from our own origin');
    const asset = await fetch(new URL(script, response.url));
    assert.equal(asset.status, 200);
  });

  test('/metrics counts requests by route pattern, not by raw URL', async () => {
    await fetch(`${server.base}/test/items/item-42`);
    const text = await (await fetch(`${server.base}/metrics`)).text();
    assert.match(text, /http_request_duration_seconds_count\{route="\/test\/items\/:itemId",method="GET",status="200"\} 1/);
    assert.doesNotMatch(text, /item-42/);
    assert.match(text, /process_cpu_user_seconds_total/, 'default process metrics are collected');
  });

  test('an unknown route is a 404 problem whose requestId is the x-request-id header', async () => {
    const response = await fetch(`${server.base}/no/such/route?x=1`);
    assert.equal(response.status, 404);
    const problem = await problemOf(response);
    assert.equal(problem.code, 'NOT_FOUND');
    assert.equal(problem.status, 404);
    assert.equal(problem.type, `${PUBLIC_URL}/errors#NOT_FOUND`);
    assert.equal(problem.title, 'No such resource');
    assert.equal(problem.instance, '/no/such/route');
    assert.match(problem.requestId, /^req_/);
    assert.equal(problem.requestId, response.headers.get('x-request-id'));
  });

  test('a sane x-request-id is echoed and carried by every log line of the request', async () => {
    const response = await fetch(`${server.base}/test/log`, { headers: { 'x-request-id': 'trace-7.a_b-c' } });
    assert.equal(response.headers.get('x-request-id'), 'trace-7.a_b-c');
    const messages = server.logs.filter((line) => line.reqId === 'trace-7.a_b-c').map((line) => line.msg);
    assert.deepEqual(messages, ['incoming request', 'inside the handler', 'request completed']);
  });

  test('an unsafe x-request-id is replaced by a generated one', async () => {
    for (const offered of ['has spaces', 'x'.repeat(129), 'semi;colon']) {
      const response = await fetch(`${server.base}/healthz`, { headers: { 'x-request-id': offered } });
      assert.match(response.headers.get('x-request-id') ?? '', /^req_[0-9a-z]{26}$/);
    }
  });

  test('malformed JSON is a 400 MALFORMED_BODY problem', async () => {
    const response = await postJson(`${server.base}/test/echo`, '{"amount": "1.00",');
    assert.equal(response.status, 400);
    assert.equal((await problemOf(response)).code, 'MALFORMED_BODY');

    const empty = await postJson(`${server.base}/test/echo`, '');
    assert.equal(empty.status, 400);
    assert.equal((await problemOf(empty)).code, 'MALFORMED_BODY');
  });

  test('a body of an unaccepted content type is a 415 UNSUPPORTED_MEDIA_TYPE problem', async () => {
    const response = await postJson(`${server.base}/test/echo`, '<amount>1.00</amount>', 'application/xml');
    assert.equal(response.status, 415);
    assert.equal((await problemOf(response)).code, 'UNSUPPORTED_MEDIA_TYPE');
  });

  test('a body over the limit is a 413 PAYLOAD_TOO_LARGE problem', async () => {
    const huge = JSON.stringify({ amount: '1.00', currency: 'x'.repeat(1024 * 1024) });
    const response = await postJson(`${server.base}/test/echo`, huge);
    assert.equal(response.status, 413);
    assert.equal((await problemOf(response)).code, 'PAYLOAD_TOO_LARGE');
  });

  test('a schema violation is a 400 VALIDATION_FAILED problem listing each violation', async () => {
    const response = await postJson(`${server.base}/test/echo`, JSON.stringify({ amount: 100.5, extra: true }));
    assert.equal(response.status, 400);
    const problem = await problemOf(response);
    assert.equal(problem.code, 'VALIDATION_FAILED');
    const errors = problem.errors as { path: string; message: string }[];
    assert.deepEqual(errors.map((error) => error.path).sort(), ['/body/amount', '/body/currency', '/body/extra']);
    assert.equal(errors.find((error) => error.path === '/body/currency')?.message, 'is required');
    assert.equal(errors.find((error) => error.path === '/body/extra')?.message, 'is not allowed');
  });

  test('a JSON number is never coerced into a decimal-string amount', async () => {
    const response = await postJson(`${server.base}/test/echo`, JSON.stringify({ amount: 100.5, currency: 'CNY' }));
    assert.equal(response.status, 400);
    const ok = await postJson(`${server.base}/test/echo`, JSON.stringify({ amount: '100.50', currency: 'CNY' }));
    assert.deepEqual(await ok.json(), { amount: '100.50' });
  });

  test('a DomainError answers with its catalogue status, code, detail and extras', async () => {
    const response = await fetch(`${server.base}/test/domain-error`);
    assert.equal(response.status, 409);
    const problem = await problemOf(response);
    assert.equal(problem.code, 'INSUFFICIENT_FUNDS');
    assert.equal(problem.detail, 'The wallet has 1.00 CNY available');
    assert.equal(problem.availableAmount, '1.00');
  });

  test('an unexpected error is a 500 INTERNAL_ERROR that hides the message but logs the stack', async () => {
    const response = await fetch(`${server.base}/test/crash`);
    assert.equal(response.status, 500);
    const problem = await problemOf(response);
    assert.equal(problem.code, 'INTERNAL_ERROR');
    assert.doesNotMatch(JSON.stringify(problem), /hunter2|db-7/);
    const logged = server.logs.find((line) => line.reqId === problem.requestId && line.level === 'error');
    const err = logged?.err as { message: string; stack: string } | undefined;
    assert.match(err?.stack ?? '', /hunter2[\s\S]*server\.test\.ts/);
  });

  test('a bigint that reaches the serializer fails loudly instead of going out as a number', async () => {
    const response = await fetch(`${server.base}/test/bigint`);
    assert.equal(response.status, 500);
    const problem = await problemOf(response);
    assert.equal(problem.code, 'INTERNAL_ERROR');
    const logged = server.logs.find((line) => line.reqId === problem.requestId && line.level === 'error');
    assert.match((logged?.err as { message: string }).message, /bigint .* at \$\.amount/);
  });

  describe('admin routes', () => {
    test('refuse a request without a token', async () => {
      const response = await fetch(`${server.base}/test/admin`);
      assert.equal(response.status, 401);
      assert.equal((await problemOf(response)).code, 'UNAUTHORIZED');
      assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer/);
    });

    test('refuse a wrong token, whatever its length', async () => {
      for (const token of ['wrong', `${ADMIN_TOKEN}x`, ADMIN_TOKEN.slice(0, -1)]) {
        const response = await fetch(`${server.base}/test/admin`, { headers: { authorization: `Bearer ${token}` } });
        assert.equal(response.status, 401);
        assert.equal((await problemOf(response)).code, 'UNAUTHORIZED');
      }
    });

    test('admit the configured token', async () => {
      const response = await fetch(`${server.base}/test/admin`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { admin: 'bootstrap-admin' });
    });
  });
});

describe('the HTTP platform without an admin credential configured', () => {
  test('admin routes answer 401 saying none is configured', async () => {
    const server = await startTestServer();
    try {
      const response = await fetch(`${server.base}/test/admin`, { headers: { authorization: 'Bearer anything' } });
      assert.equal(response.status, 401);
      const problem = await problemOf(response);
      assert.equal(problem.code, 'UNAUTHORIZED');
      assert.match(problem.detail, /No admin credential is configured/);
    } finally {
      await server.close();
    }
  });
});

describe('readiness', () => {
  test('/readyz is a 503 SERVICE_UNAVAILABLE problem once the database is gone', async () => {
    const server = await startTestServer();
    try {
      assert.equal((await fetch(`${server.base}/readyz`)).status, 200);
      await server.store.close();
      const response = await fetch(`${server.base}/readyz`);
      assert.equal(response.status, 503);
      assert.equal((await problemOf(response)).code, 'SERVICE_UNAVAILABLE');
      assert.equal((await fetch(`${server.base}/healthz`)).status, 200, 'the process itself is still up');
    } finally {
      await server.close();
    }
  });
});
