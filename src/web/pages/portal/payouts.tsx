import type { ComponentChildren } from 'preact';
import { FilterForm, Money, StatusBadge, Time } from '../../components.tsx';
import { portOf, queryField, type WebContext } from '../../context.tsx';
import { currentMerchantId } from '../../session.ts';
import { NextPageLink, pageQuery } from '../paging.tsx';

const STATUSES = ['ACCEPTED', 'PROCESSING', 'SUCCEEDED', 'FAILED', 'REVERSED'];

/** /ui/portal/payouts (newest first, status filter, cursor paging) and /ui/portal/payouts/{id}. */
export function portalPayoutsPages(ctx: WebContext): void {
  const read = { preHandler: ctx.requirePortalOperator() };

  ctx.app.get('/ui/portal/payouts', read, async (request, reply) => {
    const portal = portOf(ctx, 'portal', 'The merchant portal');
    const merchantId = currentMerchantId(request);
    const asked = queryField(request.query, 'status');
    const status = asked && STATUSES.includes(asked) ? asked : undefined;
    const page = await portal.payouts(merchantId, { ...pageQuery(request), status });
    return ctx.render(request, reply, {
      title: 'Payouts',
      current: '/ui/portal/payouts',
      children: (
        <>
          <FilterForm action="/ui/portal/payouts" name="status" label="Status" options={STATUSES} value={status} />
          {page.data.length === 0 ? (
            <p class="card muted">No payouts{status ? ` with status ${status}` : ''}.</p>
          ) : (
            <table data-testid="payouts">
              <thead>
                <tr>
                  <th>Created</th>
                  <th>Order no.</th>
                  <th>Beneficiary</th>
                  <th class="num">Amount</th>
                  <th class="num">Fee</th>
                  <th>Status</th>
                </tr>
              </thead>
              <tbody>
                {page.data.map((p) => (
                  <tr>
                    <td>
                      <Time iso={p.created} />
                    </td>
                    <td>
                      <a href={`/ui/portal/payouts/${encodeURIComponent(p.id)}`}>{p.merchantOrderNo}</a>
                    </td>
                    <td>
                      {p.beneficiary.name} <span class="muted">{p.beneficiary.accountNo}</span>
                    </td>
                    <td class="num">
                      <Money amount={p.amount} currency={p.currency} />
                    </td>
                    <td class="num">
                      <Money amount={p.fee} />
                    </td>
                    <td>
                      <StatusBadge status={p.status} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <NextPageLink path="/ui/portal/payouts" hasMore={page.hasMore} lastId={page.data.at(-1)?.id} keep={{ status }} />
        </>
      ),
    });
  });

  ctx.app.get('/ui/portal/payouts/:id', read, async (request, reply) => {
    const portal = portOf(ctx, 'portal', 'The merchant portal');
    const p = await portal.payout(currentMerchantId(request), (request.params as { id: string }).id);
    const rows: [string, ComponentChildren][] = [
      ['Payout id', <code>{p.id}</code>],
      ['Status', <StatusBadge status={p.status} />],
      ['Merchant order no.', p.merchantOrderNo],
      ['Amount', <Money amount={p.amount} currency={p.currency} />],
      ['Fee', <Money amount={p.fee} currency={p.currency} />],
      ['Beneficiary', `${p.beneficiary.name}, ${p.beneficiary.accountNo} (${p.beneficiary.bankCode})`],
      ['Remark', p.remark ?? ''],
      ['Risk level', `${p.riskLevel}${p.reviewPending ? ' (awaiting review)' : ''}`],
      ['Error', p.errorCode ? `${p.errorCode}${p.errorMessage ? `: ${p.errorMessage}` : ''}` : ''],
      ['Bank reference', p.channelRef ?? ''],
      ['Created', <Time iso={p.created} />],
      ['Updated', <Time iso={p.updated} />],
    ];
    return ctx.render(request, reply, {
      title: `Payout ${p.merchantOrderNo}`,
      current: '/ui/portal/payouts',
      children: (
        <>
          <dl class="card details" data-testid="payout">
            {rows.map(([label, value]) => (
              <>
                <dt>{label}</dt>
                <dd>{value}</dd>
              </>
            ))}
          </dl>
          <a href="/ui/portal/payouts">All payouts</a>
        </>
      ),
    });
  });
}
