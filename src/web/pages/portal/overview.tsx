import { EntriesTable, Money, StatusBadge } from '../../components.tsx';
import { portOf, queryField, type WebContext } from '../../context.tsx';
import { currentMerchantId } from '../../session.ts';
import { NextPageLink, pageQuery } from '../paging.tsx';

/** /ui/portal: the merchant, its settlement balance in each currency and the recent entries of one. */
export function portalOverviewPage(ctx: WebContext): void {
  ctx.app.get('/ui/portal', { preHandler: ctx.requirePortalOperator() }, async (request, reply) => {
    const portal = portOf(ctx, 'portal', 'The merchant portal');
    const merchantId = currentMerchantId(request);
    const [merchant, balances] = await Promise.all([portal.merchant(merchantId), portal.balances(merchantId)]);
    const currency = queryField(request.query, 'currency') ?? balances[0]?.currency;
    const entries = currency ? await portal.entries(merchantId, currency, pageQuery(request)) : { data: [], hasMore: false };
    return ctx.render(request, reply, {
      title: merchant.name,
      current: '/ui/portal',
      children: (
        <>
          <p>
            <StatusBadge status={merchant.status} /> <span class="muted">{merchant.id}</span> · products: {merchant.products.join(', ') || 'none'}
          </p>
          <h2>Settlement balance</h2>
          {balances.length === 0 ? (
            <p class="card muted">No settlement account yet: the platform funds it by an adjustment.</p>
          ) : (
            <table data-testid="balances">
              <thead>
                <tr>
                  <th>Account</th>
                  <th class="num">Balance</th>
                  <th class="num">Available</th>
                  <th class="num">Held for payouts</th>
                </tr>
              </thead>
              <tbody>
                {balances.map((b) => (
                  <tr>
                    <td>
                      <a href={`/ui/portal?currency=${encodeURIComponent(b.currency)}`}>{b.accountNo}</a> <StatusBadge status={b.status} />
                    </td>
                    <td class="num">
                      <Money amount={b.balance} currency={b.currency} />
                    </td>
                    <td class="num" data-testid={`available-${b.currency}`}>
                      <Money amount={b.available} currency={b.currency} />
                    </td>
                    <td class="num">
                      <Money amount={b.pending} currency={b.currency} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {currency ? (
            <>
              <h2>Recent entries ({currency})</h2>
              <EntriesTable entries={entries.data} />
              <NextPageLink path="/ui/portal" hasMore={entries.hasMore} lastId={entries.data.at(-1)?.id} keep={{ currency }} />
            </>
          ) : null}
        </>
      ),
    });
  });
}
