import { FilterForm, Money, StatusBadge, Time } from '../components.tsx';
import { portOf, queryField, type WebContext } from '../context.tsx';
import { currentSession } from '../session.ts';
import { paymentPath } from './payment.tsx';

const STATUSES = ['AVAILABLE', 'LOCKED', 'USED', 'EXPIRED'];

/**
 * /ui/coupons: the person's coupons (SPEC 8): amount off, minimum spend,
 * expiry and status; a locked or used one links to the payment it is on.
 */
export function couponsPage(ctx: WebContext): void {
  ctx.app.get('/ui/coupons', { preHandler: ctx.requireUiUser }, async (request, reply) => {
    const status = queryField(request.query, 'status');
    const coupons = await portOf(ctx, 'payments', 'Coupons').coupons(currentSession(request), status && STATUSES.includes(status) ? status : undefined);
    return ctx.render(request, reply, {
      title: 'Coupons',
      current: '/ui/coupons',
      children: (
        <>
          <FilterForm action="/ui/coupons" name="status" label="Status" options={STATUSES} value={status} />
          {coupons.length === 0 ? (
            <p class="card muted">No coupons.</p>
          ) : (
            <table data-testid="coupons">
              <thead>
                <tr>
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
                    <td>{c.payOrderNo ? <a href={paymentPath(c.payOrderNo)}>{c.payOrderNo}</a> : null}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      ),
    });
  });
}
