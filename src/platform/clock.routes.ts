import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { SystemClock } from './clock.ts';
import type { Config } from './config.ts';
import { DomainError } from './errors.ts';
import { adminSecurity } from './http/auth.ts';
import { ProblemSchema } from './http/problem.ts';
import type { HttpModule } from './http/server.ts';

const ClockView = Type.Object({
  now: Type.String({ format: 'date-time', description: "Coffer's business time" }),
  offsetMs: Type.Integer({ description: 'How far the business clock is ahead of the wall clock' }),
});
const AdvanceBody = Type.Object(
  { days: Type.Integer({ minimum: 1, maximum: 3660, description: 'Whole days to move the business clock forward' }) },
  { additionalProperties: false },
);
const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema };
const DAY_MS = 86_400_000;

/**
 * The test clock (SPEC 7, sandbox only): read it, or move it forward by whole
 * days with the admin credential. The offset is stored, so a restart keeps it
 * and every module's injected clock (and every process) follows it.
 */
export function clockHttpModule(clock: SystemClock, config: Pick<Config, 'sandbox'>): HttpModule {
  const sandboxOnly = async (_request: FastifyRequest) => {
    if (!config.sandbox) throw new DomainError('NOT_FOUND', 'Sandbox endpoints are off (SANDBOX=false)');
  };
  const view = () => ({ now: clock.now().toISOString(), offsetMs: clock.offset });
  return {
    name: 'clock',
    register(app) {
      const tags = ['sandbox'];
      app.get(
        '/sandbox/clock',
        { preHandler: sandboxOnly, schema: { tags, summary: "Coffer's business clock (sandbox mode only)", response: { 200: ClockView, ...problems } } },
        async () => {
          await clock.refresh();
          return view();
        },
      );
      app.post(
        '/sandbox/clock/advance',
        {
          preHandler: [sandboxOnly, app.requireAdmin],
          schema: {
            tags,
            security: adminSecurity,
            summary: 'Move the business clock forward by whole days (sandbox mode only; admin)',
            description: 'Value dates, maturities, expiries and scheduled jobs follow it. It never moves back.',
            body: AdvanceBody,
            response: { 200: ClockView, ...problems },
          },
        },
        async (request) => {
          await clock.advanceStored(request.body.days * DAY_MS);
          return view();
        },
      );
    },
  };
}
