import type { FastifyReply, FastifyRequest } from 'fastify';
import { ActionButton, FilterForm, StatusBadge, Time } from '../../components.tsx';
import { formErrorsFrom, portOf, queryField, type WebContext } from '../../context.tsx';
import { redirectTo } from '../../render.ts';
import { currentMerchantId, currentOperator } from '../../session.ts';
import { NextPageLink, pageQuery } from '../paging.tsx';

const STATUSES = ['PENDING', 'DELIVERED', 'DEAD', 'CANCELLED'];

/**
 * /ui/portal/webhooks: the merchant's webhook deliveries, newest first, each
 * with every attempt (time, HTTP status or error, what the endpoint said), and
 * a Re-send button (makers and checkers; one attempt now, a DEAD one too).
 */
export function portalWebhooksPages(ctx: WebContext): void {
  const read = { preHandler: ctx.requirePortalOperator() };
  const write = { preHandler: ctx.requirePortalOperator(['maker', 'checker']) };

  async function listPage(request: FastifyRequest, reply: FastifyReply, failed?: { status: number; error: string }) {
    const portal = portOf(ctx, 'portal', 'The merchant portal');
    const operator = currentOperator(request);
    const asked = queryField(request.query, 'status');
    const status = asked && STATUSES.includes(asked) ? asked : undefined;
    const page = await portal.deliveries(currentMerchantId(request), { ...pageQuery(request), status });
    const csrf = ctx.csrf(request, reply);
    const canResend = operator.role !== 'viewer';
    return ctx.render(request, reply, {
      status: failed?.status,
      error: failed?.error,
      title: 'Webhook deliveries',
      current: '/ui/portal/webhooks',
      children: (
        <>
          <FilterForm action="/ui/portal/webhooks" name="status" label="Status" options={STATUSES} value={status} />
          {page.data.length === 0 ? <p class="card muted">No deliveries yet: events are sent to your webhook endpoints when payouts reach a final status.</p> : null}
          {page.data.map((d) => (
            <div class="card" data-testid="delivery" data-delivery={d.id}>
              <p>
                <strong>{d.eventType}</strong> <StatusBadge status={d.status} /> <span class="muted">{d.eventId}</span>
              </p>
              <p class="muted small">
                to {d.url} · created <Time iso={d.createdAt} />
                {d.nextAttemptAt && d.status === 'PENDING' ? (
                  <>
                    {' '}
                    · next attempt <Time iso={d.nextAttemptAt} />
                  </>
                ) : null}
              </p>
              {d.attempts.length === 0 ? (
                <p class="muted">No attempt yet.</p>
              ) : (
                <table data-testid="attempts">
                  <thead>
                    <tr>
                      <th>#</th>
                      <th>At</th>
                      <th>Answer</th>
                      <th class="num">ms</th>
                      <th>Body</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.attempts.map((a) => (
                      <tr>
                        <td>{a.attempt}</td>
                        <td>
                          <Time iso={a.at} />
                        </td>
                        <td>{a.httpStatus !== null ? `HTTP ${a.httpStatus}` : (a.error ?? '')}</td>
                        <td class="num">{a.durationMs}</td>
                        <td class="clip">{a.responseBody ?? ''}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
              {canResend && d.status !== 'CANCELLED' ? <ActionButton action={`/ui/portal/webhooks/${encodeURIComponent(d.id)}/resend`} csrf={csrf} label="Re-send" /> : null}
            </div>
          ))}
          <NextPageLink path="/ui/portal/webhooks" hasMore={page.hasMore} lastId={page.data.at(-1)?.id} keep={{ status }} />
        </>
      ),
    });
  }

  ctx.app.get('/ui/portal/webhooks', read, (request, reply) => listPage(request, reply));

  ctx.app.post('/ui/portal/webhooks/:id/resend', write, async (request, reply) => {
    const portal = portOf(ctx, 'portal', 'The merchant portal');
    const operator = currentOperator(request);
    try {
      await portal.resendDelivery(currentMerchantId(request), (request.params as { id: string }).id, { operatorId: operator.id, requestId: request.id });
    } catch (error) {
      const failure = formErrorsFrom(error);
      return listPage(request, reply, { status: failure.status, error: failure.message });
    }
    return redirectTo(reply, '/ui/portal/webhooks?notice=delivery-resent');
  });
}
