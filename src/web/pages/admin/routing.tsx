import { Time } from '../../components.tsx';
import { queryField, type WebContext } from '../../context.tsx';
import { NextPageLink, pageQuery } from '../paging.tsx';

interface RoutingDecisionView {
  id: string;
  payOrderNo: string;
  method: string;
  step: string;
  candidates: { code: string; eligible: boolean; reason?: string }[];
  /** The eligible channels in the order they were to be tried. */
  order: string[];
  chosen?: string;
  rule: string;
  createdAt: string;
}

const PAY_ORDER_NO = /^[A-Za-z0-9_-]{1,64}$/;

function Candidates(props: { decision: RoutingDecisionView }) {
  return (
    <ul class="plain">
      {props.decision.candidates.map((c) => (
        <li>
          {c.code === props.decision.chosen ? <strong>{c.code}</strong> : c.code}{' '}
          {c.eligible ? <span class="badge badge-ok">eligible</span> : <span class="badge badge-bad">out</span>}
          {c.reason ? <span class="muted small"> {c.reason}</span> : null}
        </li>
      ))}
    </ul>
  );
}

/**
 * Every routing decision of the payment core (SPEC 8), newest first, over the
 * admin JSON API: for one payment (`?payOrderNo=`) or all, each with the
 * channels it considered, why each was in or out, the rule that chose, and the
 * channel chosen (none: the payment fell back, or failed).
 */
export function adminRoutingPage(ctx: WebContext): void {
  ctx.app.get('/ui/admin/routing', { preHandler: ctx.requireAdminOperator }, async (request, reply) => {
    const query = pageQuery(request);
    const given = queryField(request.query, 'payOrderNo')?.trim();
    const payOrderNo = given && PAY_ORDER_NO.test(given) ? given : undefined;
    const search = new URLSearchParams({ limit: String(query.limit), ...(query.startingAfter ? { startingAfter: query.startingAfter } : {}), ...(payOrderNo ? { payOrderNo } : {}) });
    const page = await ctx.adminApi(request).get<{ data: RoutingDecisionView[]; hasMore: boolean }>(`/admin/routing-decisions?${search}`);
    return ctx.render(request, reply, {
      title: 'Routing decisions',
      current: '/ui/admin/routing',
      children: (
        <>
          <form method="get" action="/ui/admin/routing" class="filters">
            <div class="field">
              <label for="field-payOrderNo">Payment</label>
              <input id="field-payOrderNo" name="payOrderNo" value={payOrderNo ?? ''} placeholder="pay_..." />
            </div>
            <button type="submit">Filter</button>
          </form>
          {page.data.length === 0 ? (
            <p class="card muted">No routing decisions.</p>
          ) : (
            <table data-testid="routing-decisions">
              <thead>
                <tr>
                  <th>When</th>
                  <th>Payment</th>
                  <th>Method / step</th>
                  <th>Candidates</th>
                  <th>Order</th>
                  <th>Rule</th>
                  <th>Chosen</th>
                </tr>
              </thead>
              <tbody>
                {page.data.map((d) => (
                  <tr data-decision={d.id}>
                    <td>
                      <Time iso={d.createdAt} />
                    </td>
                    <td>
                      <a href={`/ui/admin/routing?payOrderNo=${encodeURIComponent(d.payOrderNo)}`}>{d.payOrderNo}</a>
                    </td>
                    <td>
                      {d.method}
                      <div class="muted small">{d.step}</div>
                    </td>
                    <td>
                      <Candidates decision={d} />
                    </td>
                    <td>{d.order.join(' → ') || <span class="muted">none</span>}</td>
                    <td>{d.rule}</td>
                    <td>{d.chosen ? <strong>{d.chosen}</strong> : <span class="muted">none</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <NextPageLink path="/ui/admin/routing" hasMore={page.hasMore} lastId={page.data.at(-1)?.id} keep={{ payOrderNo }} />
        </>
      ),
    });
  });
}
