import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ComponentChildren } from 'preact';
import { Field, FilterForm, Money, PostForm, Select, StatusBadge, Time } from '../../components.tsx';
import { formErrorsFrom, formField, queryField, type FormErrors, type WebContext } from '../../context.tsx';
import { redirectTo } from '../../render.ts';
import { NextPageLink, pageQuery } from '../paging.tsx';

interface FiredRule {
  ruleId: string | null;
  name: string;
  type: string;
  level: string;
  version: number | null;
  detail: string;
}

interface DecisionView {
  decisionId: string;
  flow: string;
  subjectKind: string;
  subjectId: string;
  amount: string;
  currency: string;
  reference: string;
  level: string;
  firedRules: FiredRule[];
  review: { status: string; reviewedBy: string | null; note: string | null; reviewedAt: string | null } | null;
  createdAt: string;
}

const LEVELS = ['LOW', 'MEDIUM', 'HIGH', 'REJECT'];
const REVIEW_STATUSES = ['PENDING', 'APPROVED', 'REJECTED', 'CANCELLED'];

function FiredRules(props: { rules: FiredRule[] }) {
  if (props.rules.length === 0) return <span class="muted">none</span>;
  return (
    <ul class="plain">
      {props.rules.map((rule) => (
        <li>
          <StatusBadge status={rule.level} /> {rule.name}
          {rule.version !== null ? <span class="muted"> v{rule.version}</span> : null}: {rule.detail}
        </li>
      ))}
    </ul>
  );
}

function DecisionRows(props: { decisions: DecisionView[]; actions?: (d: DecisionView) => ComponentChildren }) {
  return (
    <table data-testid="decisions">
      <thead>
        <tr>
          <th>When</th>
          <th>Flow / subject</th>
          <th class="num">Amount</th>
          <th>Level</th>
          <th>Rules that fired</th>
          <th>Review</th>
        </tr>
      </thead>
      <tbody>
        {props.decisions.map((d) => (
          <tr>
            <td>
              <Time iso={d.createdAt} />
              <div class="muted small">{d.decisionId}</div>
            </td>
            <td>
              {d.flow} · {d.subjectKind} {d.subjectId}
              <div class="muted small">{d.reference}</div>
            </td>
            <td class="num">
              <Money amount={d.amount} currency={d.currency} />
            </td>
            <td>
              <StatusBadge status={d.level} />
            </td>
            <td>
              <FiredRules rules={d.firedRules} />
            </td>
            <td>
              {d.review ? (
                <>
                  <StatusBadge status={d.review.status} />
                  {d.review.reviewedBy ? <div class="muted small">{d.review.reviewedBy}{d.review.note ? `: ${d.review.note}` : ''}</div> : null}
                </>
              ) : (
                <span class="muted">-</span>
              )}
              {props.actions?.(d)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * Risk decisions with the rules that fired (filter by level), and the manual
 * review queue (HIGH decisions) with approve / reject and a note, over the
 * admin JSON API; the risk module records the operator as the reviewer.
 */
export function adminRiskDecisionsPages(ctx: WebContext): void {
  const guard = { preHandler: ctx.requireAdminOperator };

  ctx.app.get('/ui/admin/risk/decisions', guard, async (request, reply) => {
    const query = pageQuery(request);
    const level = queryField(request.query, 'level');
    const search = new URLSearchParams({ limit: String(query.limit), ...(query.startingAfter ? { startingAfter: query.startingAfter } : {}), ...(level && LEVELS.includes(level) ? { level } : {}) });
    const page = await ctx.adminApi(request).get<{ data: DecisionView[]; hasMore: boolean }>(`/admin/risk/decisions?${search}`);
    return ctx.render(request, reply, {
      title: 'Risk decisions',
      current: '/ui/admin/risk/decisions',
      children: (
        <>
          <FilterForm action="/ui/admin/risk/decisions" name="level" label="Level" options={LEVELS} value={level} />
          {page.data.length === 0 ? <p class="card muted">No decisions.</p> : <DecisionRows decisions={page.data} />}
          <NextPageLink path="/ui/admin/risk/decisions" hasMore={page.hasMore} lastId={page.data.at(-1)?.decisionId} keep={{ level }} />
        </>
      ),
    });
  });

  async function reviewsPage(request: FastifyRequest, reply: FastifyReply, failed?: FormErrors) {
    const query = pageQuery(request);
    const status = queryField(request.query, 'status') ?? 'PENDING';
    const search = new URLSearchParams({ limit: String(query.limit), status: REVIEW_STATUSES.includes(status) ? status : 'PENDING', ...(query.startingAfter ? { startingAfter: query.startingAfter } : {}) });
    const page = await ctx.adminApi(request).get<{ data: DecisionView[]; hasMore: boolean }>(`/admin/risk/reviews?${search}`);
    const csrf = ctx.csrf(request, reply);
    return ctx.render(request, reply, {
      status: failed?.status,
      error: failed?.message,
      title: 'Manual reviews',
      current: '/ui/admin/risk/reviews',
      children: (
        <>
          <form method="get" action="/ui/admin/risk/reviews" class="filters">
            <Select name="status" label="Review status" options={REVIEW_STATUSES} value={status} />
            <button type="submit">Show</button>
          </form>
          {page.data.length === 0 ? (
            <p class="card muted">No reviews {status.toLowerCase()}.</p>
          ) : (
            <DecisionRows
              decisions={page.data}
              actions={(d) =>
                d.review?.status === 'PENDING' ? (
                  <PostForm action={`/ui/admin/risk/reviews/${encodeURIComponent(d.decisionId)}`} csrf={csrf} class="review">
                    <Field name="note" label="Note" required={false} />
                    <button type="submit" name="outcome" value="approve">
                      Approve
                    </button>{' '}
                    <button type="submit" name="outcome" value="reject" class="danger">
                      Reject
                    </button>
                  </PostForm>
                ) : null
              }
            />
          )}
          <NextPageLink path="/ui/admin/risk/reviews" hasMore={page.hasMore} lastId={page.data.at(-1)?.decisionId} keep={{ status }} label="More" />
        </>
      ),
    });
  }

  ctx.app.get('/ui/admin/risk/reviews', guard, (request, reply) => reviewsPage(request, reply));

  ctx.app.post('/ui/admin/risk/reviews/:decisionId', guard, async (request, reply) => {
    const decisionId = (request.params as { decisionId: string }).decisionId;
    const outcome = formField(request.body, 'outcome');
    try {
      if (outcome !== 'approve' && outcome !== 'reject') throw new Error('unreachable: the form has two buttons');
      await ctx.adminApi(request).send('POST', `/admin/risk/reviews/${encodeURIComponent(decisionId)}/${outcome}`, { note: formField(request.body, 'note').trim() });
      return redirectTo(reply, `/ui/admin/risk/reviews?notice=review-${outcome === 'approve' ? 'approved' : 'rejected'}`);
    } catch (error) {
      return reviewsPage(request, reply, formErrorsFrom(error));
    }
  });
}
