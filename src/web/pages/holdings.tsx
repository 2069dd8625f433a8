import { Money, StatusBadge, Time } from '../components.tsx';
import { portOf, type WebContext } from '../context.tsx';
import type { UiHolding } from '../ports.ts';
import { currentSession } from '../session.ts';
import { NextPageLink, pageQuery } from './paging.tsx';
import { paymentPath } from './payment.tsx';
import { productPath } from './products.tsx';

/** Orders that have a contract: paid (or on their way to it), not waiting for or without a payment. */
const WITHOUT_CONTRACT = new Set(['AWAITING_PAYMENT', 'CANCELLED']);

function HoldingActions(props: { holding: UiHolding }) {
  const h = props.holding;
  if (h.status === 'AWAITING_PAYMENT' && h.payOrderNo) {
    return (
      <a class="button" href={paymentPath(h.payOrderNo)}>
        Pay
      </a>
    );
  }
  if (WITHOUT_CONTRACT.has(h.status)) return null;
  const contract = `/my/subscriptions/${encodeURIComponent(h.id)}/contract`;
  // The contract is the API's own document (its own page and policy), so a real navigation, not an htmx swap.
  return (
    <span class="small">
      <a href={contract} hx-boost="false">
        Contract
      </a>{' '}
      ·{' '}
      <a href={`${contract}.pdf`} hx-boost="false" download>
        PDF
      </a>
    </span>
  );
}

function HoldingTable(props: { holdings: UiHolding[] }) {
  return (
    <table data-testid="holdings">
      <thead>
        <tr>
          <th>Product</th>
          <th class="num">Amount</th>
          <th class="num">Interest</th>
          <th class="num">Earned so far</th>
          <th>Value date – maturity</th>
          <th class="num">At maturity</th>
          <th>Status</th>
          <th></th>
        </tr>
      </thead>
      <tbody>
        {props.holdings.map((h) => (
          <tr data-holding={h.id}>
            <td>
              <a href={productPath(h.productCode)}>{h.productName}</a>
              <div class="muted small">
                {h.annualRate}% · {h.payWith === 'CARD' ? 'card' : 'wallet'} · <Time iso={h.createdAt} />
              </div>
            </td>
            <td class="num">
              <Money amount={h.amount} currency={h.currency} />
            </td>
            <td class="num">
              <Money amount={h.interest} />
            </td>
            <td class="num">
              <Money amount={h.earnedToDate} />
            </td>
            <td>
              {h.valueDate} – {h.maturityDate}
            </td>
            <td class="num">
              <Money amount={h.maturityAmount} />
            </td>
            <td>
              <StatusBadge status={h.status} />
              {h.errorCode ? <div class="muted small">{h.errorCode}</div> : null}
              {h.status === 'AWAITING_PAYMENT' && h.expiresAt ? (
                <div class="muted small">
                  pay before <Time iso={h.expiresAt} />
                </div>
              ) : null}
            </td>
            <td>
              <HoldingActions holding={h} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * /ui/holdings: the person's subscriptions (SPEC 7) with status, expected
 * interest, earnings to date and maturity; each paid one links to its contract
 * (page and PDF), an unpaid card order to its payment page.
 */
export function holdingsPage(ctx: WebContext): void {
  ctx.app.get('/ui/holdings', { preHandler: ctx.requireUiUser }, async (request, reply) => {
    const page = await portOf(ctx, 'products', 'Savings products').holdings(currentSession(request), pageQuery(request));
    return ctx.render(request, reply, {
      title: 'Holdings',
      current: '/ui/holdings',
      children:
        page.data.length === 0 ? (
          <p class="card muted">
            Nothing held yet. <a href="/ui/products">See the products</a>
          </p>
        ) : (
          <>
            <HoldingTable holdings={page.data} />
            <NextPageLink path="/ui/holdings" hasMore={page.hasMore} lastId={page.data.at(-1)?.id} />
          </>
        ),
    });
  });
}
