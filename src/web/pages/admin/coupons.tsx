import type { FastifyReply, FastifyRequest } from 'fastify';
import { Field, IdempotencyField, Money, PostForm, StatusBadge, Time } from '../../components.tsx';
import { formErrorsFrom, formField, idempotencyHeader, queryField, type FormErrors, type WebContext } from '../../context.tsx';
import type { UiCoupon, UiPage } from '../../ports.ts';
import { redirectTo } from '../../render.ts';
import { NextPageLink, pageQuery } from '../paging.tsx';

const USER_ID = /^[A-Za-z0-9_-]{1,64}$/;
const FIELDS = ['userId', 'amountOff', 'minSpend', 'currency', 'expiresAt'] as const;

/**
 * Coupons (SPEC 8) in the admin console, over the admin JSON API: issue one to
 * a user by their id (amount off, minimum spend, expiry), and the coupons of a
 * user (`?userId=`) or all, with their status and the payment holding them.
 */
export function adminCouponsPages(ctx: WebContext): void {
  const guard = { preHandler: ctx.requireAdminOperator };

  async function listPage(request: FastifyRequest, reply: FastifyReply, failed?: { errors: FormErrors; values: Record<string, string> }) {
    const given = queryField(request.query, 'userId')?.trim();
    const userId = given && USER_ID.test(given) ? given : undefined;
    const query = pageQuery(request);
    const search = new URLSearchParams({ limit: String(query.limit), ...(query.startingAfter ? { startingAfter: query.startingAfter } : {}), ...(userId ? { userId } : {}) });
    const page = await ctx.adminApi(request).get<UiPage<UiCoupon & { userId: string }>>(`/admin/coupons?${search}`);
    const coupons = page.data;
    const v = failed?.values ?? {};
    const f = failed?.errors.fields ?? {};
    const nextMonth = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    return ctx.render(request, reply, {
      status: failed?.errors.status,
      error: failed?.errors.message,
      title: 'Coupons',
      current: '/ui/admin/coupons',
      children: (
        <>
          <div class="card" data-testid="issue-coupon">
            <h2>Issue a coupon</h2>
            <PostForm action="/ui/admin/coupons" csrf={ctx.csrf(request, reply)}>
              <IdempotencyField />
              <div class="row">
                <Field name="userId" label="User id" value={v.userId ?? userId} error={f.userId} placeholder="usr_..." />
                <Field name="currency" label="Currency" value={v.currency ?? 'CNY'} error={f.currency} />
              </div>
              <div class="row">
                <Field name="amountOff" label="Amount off" inputmode="decimal" value={v.amountOff} error={f.amountOff} />
                <Field name="minSpend" label="Minimum spend" inputmode="decimal" value={v.minSpend} error={f.minSpend} />
                <Field name="expiresAt" label="Expires (UTC)" value={v.expiresAt ?? `${nextMonth}T00:00:00Z`} error={f.expiresAt} />
              </div>
              <button type="submit">Issue coupon</button>
            </PostForm>
          </div>
          <form method="get" action="/ui/admin/coupons" class="filters">
            <div class="field">
              <label for="filter-userId">User</label>
              <input id="filter-userId" name="userId" value={userId ?? ''} placeholder="usr_..." />
            </div>
            <button type="submit">Filter</button>
          </form>
          {coupons.length === 0 ? (
            <p class="card muted">No coupons.</p>
          ) : (
            <table data-testid="admin-coupons">
              <thead>
                <tr>
                  <th>Coupon</th>
                  <th class="num">Off</th>
                  <th class="num">Minimum spend</th>
                  <th>Expires</th>
                  <th>Status</th>
                  <th>Payment</th>
                </tr>
              </thead>
              <tbody>
                {coupons.map((c) => (
                  <tr data-coupon={c.id}>
                    <td>
                      {c.id}
                      <div class="muted small">{c.userId}</div>
                    </td>
                    <td class="num">
                      <Money amount={c.amountOff} currency={c.currency} />
                    </td>
                    <td class="num">
                      <Money amount={c.minSpend} />
                    </td>
                    <td>
                      <Time iso={c.expiresAt} />
                    </td>
                    <td>
                      <StatusBadge status={c.status} />
                    </td>
                    <td>{c.payOrderNo ? <a href={`/ui/admin/routing?payOrderNo=${encodeURIComponent(c.payOrderNo)}`}>{c.payOrderNo}</a> : null}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <NextPageLink path="/ui/admin/coupons" hasMore={page.hasMore} lastId={coupons.at(-1)?.id} keep={{ userId }} />
        </>
      ),
    });
  }

  ctx.app.get('/ui/admin/coupons', guard, (request, reply) => listPage(request, reply));

  ctx.app.post('/ui/admin/coupons', guard, async (request, reply) => {
    const values = Object.fromEntries(FIELDS.map((name) => [name, formField(request.body, name).trim()]));
    try {
      await ctx.adminApi(request).send('POST', '/admin/coupons', values, idempotencyHeader(request.body));
    } catch (error) {
      return listPage(request, reply, { errors: formErrorsFrom(error), values });
    }
    return redirectTo(reply, `/ui/admin/coupons?${new URLSearchParams({ userId: values.userId ?? '', notice: 'coupon-issued' })}`);
  });
}
