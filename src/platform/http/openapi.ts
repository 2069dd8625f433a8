import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import packageJson from '../../../package.json' with { type: 'json' };
import type { Config } from '../config.ts';
import { errorCatalogue, outcomeCatalogue } from '../errors.ts';
import type { CofferApp } from './server.ts';

function catalogueAsMarkdown(): string {
  const rows = Object.entries(errorCatalogue).map(([code, { status, title }]) => `| \`${code}\` | ${status} | ${title} |`);
  return ['| code | status | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

function outcomesAsMarkdown(): string {
  const rows = Object.entries(outcomeCatalogue).map(([code, { source, title }]) => `| \`${code}\` | ${source} | ${title} |`);
  return ['| code | from | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

const DESCRIPTION = `Coffer: wallets and payments on one double-entry ledger.

Errors are \`application/problem+json\` (RFC 9457) with a stable \`code\` and the \`requestId\`
(also sent as the \`x-request-id\` header). Amounts are decimal strings in the currency's
exponent, never JSON numbers. The catalogue below is also served as JSON at \`GET /errors\`.

${catalogueAsMarkdown()}

A record that failed (a recharge, withdrawal, payout, payment, subscription) says why in its
\`errorCode\`, one of these outcome codes (also in \`GET /errors\`, with \`kind: "outcome"\`):

${outcomesAsMarkdown()}`;

/** Must run before any route is declared: @fastify/swagger learns routes as they are added. */
export async function registerOpenApi(app: CofferApp, config: Pick<Config, 'publicUrl'>): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Coffer', version: packageJson.version, description: DESCRIPTION },
      servers: [{ url: config.publicUrl }],
      components: {
        securitySchemes: {
          adminToken: { type: 'http', scheme: 'bearer', description: 'The ADMIN_TOKEN bootstrap credential' },
          userSession: { type: 'http', scheme: 'bearer', description: 'A user session token from POST /auth/login' },
          userCookie: { type: 'apiKey', in: 'cookie', name: 'coffer_session', description: 'The session cookie (POST /auth/login with cookie: true)' },
          operatorSession: { type: 'http', scheme: 'bearer', description: 'An operator session token from POST /operators/login (an admin operator also passes adminToken routes)' },
          merchantKey: { type: 'apiKey', in: 'header', name: 'X-Coffer-Key', description: 'The API key id' },
          merchantTimestamp: { type: 'apiKey', in: 'header', name: 'X-Coffer-Timestamp', description: 'Unix seconds, within 5 minutes of the server' },
          merchantSignature: {
            type: 'apiKey',
            in: 'header',
            name: 'X-Coffer-Signature',
            description: 'hex(HMAC-SHA256(secret, timestamp + "\\n" + METHOD + "\\n" + path-with-query + "\\n" + raw body))',
          },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { validatorUrl: null } });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
