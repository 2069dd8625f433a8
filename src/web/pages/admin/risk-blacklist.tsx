import type { FastifyReply, FastifyRequest } from 'fastify';
import { ActionButton, Field, PostForm, Select, Time } from '../../components.tsx';
import { formErrorsFrom, formField, type FormErrors, type WebContext } from '../../context.tsx';
import { redirectTo } from '../../render.ts';
import { NextPageLink, pageQuery } from '../paging.tsx';

interface BlacklistView {
  id: string;
  kind: string;
  value: string;
  reason: string;
  createdBy: string;
  createdAt: string;
}

const KINDS = ['USER', 'MERCHANT', 'ID_NUMBER', 'CARD', 'BENEFICIARY_ACCOUNT'];

/** The admin console's blacklist (SPEC 6): the active entries, add one (with a reason), remove one. */
export function adminBlacklistPages(ctx: WebContext): void {
  const guard = { preHandler: ctx.requireAdminOperator };

  async function listPage(request: FastifyRequest, reply: FastifyReply, failed?: { errors: FormErrors; values: Record<string, string> }) {
    const query = pageQuery(request);
    const search = new URLSearchParams({ limit: String(query.limit), ...(query.startingAfter ? { startingAfter: query.startingAfter } : {}) });
    const page = await ctx.adminApi(request).get<{ data: BlacklistView[]; hasMore: boolean }>(`/admin/risk/blacklist?${search}`);
    const csrf = ctx.csrf(request, reply);
    const v = failed?.values ?? {};
    return ctx.render(request, reply, {
      status: failed?.errors.status,
      error: failed?.errors.message,
      title: 'Blacklist',
      current: '/ui/admin/risk/blacklist',
      children: (
        <>
          {page.data.length === 0 ? (
            <p class="card muted">Nothing is blacklisted.</p>
          ) : (
            <table data-testid="blacklist">
              <thead>
                <tr>
                  <th>Kind</th>
                  <th>Value</th>
                  <th>Why</th>
                  <th>Added</th>
                  <th></th>
                </tr>
              </thead>
              <tbody>
                {page.data.map((entry) => (
                  <tr>
                    <td>{entry.kind}</td>
                    <td>{entry.value}</td>
                    <td>{entry.reason}</td>
                    <td>
                      <Time iso={entry.createdAt} /> <span class="muted">by {entry.createdBy}</span>
                    </td>
                    <td>
                      <ActionButton action={`/ui/admin/risk/blacklist/${encodeURIComponent(entry.id)}/remove`} csrf={csrf} label={`Remove ${entry.value}`} danger />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <NextPageLink path="/ui/admin/risk/blacklist" hasMore={page.hasMore} lastId={page.data.at(-1)?.id} label="More" />
          <div class="card">
            <h2>Add to the blacklist</h2>
            <PostForm action="/ui/admin/risk/blacklist" csrf={csrf}>
              <Select name="kind" label="Kind" options={KINDS} value={v.kind ?? 'BENEFICIARY_ACCOUNT'} />
              <Field name="value" label="Value (id or number)" value={v.value} error={failed?.errors.fields.value} />
              <Field name="reason" label="Reason" value={v.reason} error={failed?.errors.fields.reason} />
              <button type="submit">Add</button>
            </PostForm>
          </div>
        </>
      ),
    });
  }

  ctx.app.get('/ui/admin/risk/blacklist', guard, (request, reply) => listPage(request, reply));

  ctx.app.post('/ui/admin/risk/blacklist', guard, async (request, reply) => {
    const values = { kind: formField(request.body, 'kind'), value: formField(request.body, 'value').trim(), reason: formField(request.body, 'reason').trim() };
    try {
      await ctx.adminApi(request).send('POST', '/admin/risk/blacklist', values);
    } catch (error) {
      return listPage(request, reply, { errors: formErrorsFrom(error), values });
    }
    return redirectTo(reply, '/ui/admin/risk/blacklist?notice=blacklist-added');
  });

  ctx.app.post('/ui/admin/risk/blacklist/:id/remove', guard, async (request, reply) => {
    const id = (request.params as { id: string }).id;
    try {
      await ctx.adminApi(request).send('DELETE', `/admin/risk/blacklist/${encodeURIComponent(id)}`);
    } catch (error) {
      return listPage(request, reply, { errors: formErrorsFrom(error), values: {} });
    }
    return redirectTo(reply, '/ui/admin/risk/blacklist?notice=blacklist-removed');
  });
}
