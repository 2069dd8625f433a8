import type { FastifyReply, FastifyRequest } from 'fastify';
import { Field, PostForm, Time } from '../../components.tsx';
import { formErrorsFrom, formField, type FormErrors, type WebContext } from '../../context.tsx';
import { redirectTo } from '../../render.ts';

/**
 * The sandbox test clock (SPEC 7): Coffer's business time and a form that
 * moves it forward by whole days (value dates, maturity, expiries and the jobs
 * follow it). Outside sandbox mode the API has no such clock and the page says so.
 */
export function adminClockPages(ctx: WebContext): void {
  const guard = { preHandler: ctx.requireAdminOperator };

  async function clockPage(request: FastifyRequest, reply: FastifyReply, failed?: FormErrors) {
    let now: string | undefined;
    try {
      now = (await ctx.adminApi(request).get<{ now: string }>('/sandbox/clock')).now;
    } catch (error) {
      if (formErrorsFrom(error).status !== 404) throw error;
    }
    return ctx.render(request, reply, {
      status: failed?.status,
      error: failed?.message,
      title: 'Test clock',
      current: '/ui/admin/clock',
      children:
        now === undefined ? (
          <p class="card muted">There is no test clock: this server is not in sandbox mode.</p>
        ) : (
          <div class="card">
            <p data-testid="business-time">
              Business time: <Time iso={now} />
            </p>
            <p class="muted">
              Sessions follow business time too: moving the clock past their expiry logs everyone out (you included), as
              that much time passing would.
            </p>
            <PostForm action="/ui/admin/clock" csrf={ctx.csrf(request, reply)}>
              <Field name="days" label="Advance by (days)" inputmode="numeric" value="1" error={failed?.fields.days} />
              <button type="submit">Advance the clock</button>
            </PostForm>
          </div>
        ),
    });
  }

  ctx.app.get('/ui/admin/clock', guard, (request, reply) => clockPage(request, reply));

  ctx.app.post('/ui/admin/clock', guard, async (request, reply) => {
    const days = formField(request.body, 'days').trim();
    try {
      await ctx.adminApi(request).send('POST', '/sandbox/clock/advance', { days: /^\d{1,5}$/.test(days) ? Number(days) : days });
    } catch (error) {
      return clockPage(request, reply, formErrorsFrom(error));
    }
    return redirectTo(reply, '/ui/admin/clock?notice=clock-advanced');
  });
}
