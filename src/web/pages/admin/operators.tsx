import type { FastifyReply, FastifyRequest } from 'fastify';
import { ActionButton, Field, PostForm, Select, StatusBadge, Time } from '../../components.tsx';
import { formErrorsFrom, formField, type FormErrors, type WebContext } from '../../context.tsx';
import { redirectTo } from '../../render.ts';
import { currentOperator } from '../../session.ts';
import { NextPageLink, pageQuery } from '../paging.tsx';

interface OperatorView {
  operatorId: string;
  username: string;
  role: string;
  merchantId: string | null;
  status: string;
  createdAt: string;
}

const ROLES = ['maker', 'checker', 'viewer', 'admin'];

/**
 * The admin console's operators, over the admin JSON API as the logged-in
 * admin: list, create (role, and the merchant for maker / checker / viewer),
 * disable and enable (nobody disables themselves: the service refuses).
 */
export function adminOperatorsPages(ctx: WebContext): void {
  const guard = { preHandler: ctx.requireAdminOperator };

  async function listPage(request: FastifyRequest, reply: FastifyReply, failed?: { errors: FormErrors; values: Record<string, string> }) {
    const query = pageQuery(request);
    const search = new URLSearchParams({ limit: String(query.limit), ...(query.startingAfter ? { startingAfter: query.startingAfter } : {}) });
    const page = await ctx.adminApi(request).get<{ data: OperatorView[]; hasMore: boolean }>(`/admin/operators?${search}`);
    const csrf = ctx.csrf(request, reply);
    const me = currentOperator(request);
    const v = failed?.values ?? {};
    return ctx.render(request, reply, {
      status: failed?.errors.status,
      error: failed?.errors.message,
      title: 'Operators',
      current: '/ui/admin/operators',
      children: (
        <>
          <table data-testid="operators">
            <thead>
              <tr>
                <th>Username</th>
                <th>Role</th>
                <th>Merchant</th>
                <th>Status</th>
                <th>Since</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {page.data.map((o) => (
                <tr>
                  <td>{o.username}</td>
                  <td>{o.role}</td>
                  <td>{o.merchantId ? <a href={`/ui/admin/merchants/${encodeURIComponent(o.merchantId)}`}>{o.merchantId}</a> : <span class="muted">platform</span>}</td>
                  <td>
                    <StatusBadge status={o.status} />
                  </td>
                  <td>
                    <Time iso={o.createdAt} />
                  </td>
                  <td>
                    {o.operatorId === me.id ? (
                      <span class="muted">you</span>
                    ) : o.status === 'ACTIVE' ? (
                      <ActionButton action={`/ui/admin/operators/${encodeURIComponent(o.operatorId)}/disable`} csrf={csrf} label={`Disable ${o.username}`} danger />
                    ) : (
                      <ActionButton action={`/ui/admin/operators/${encodeURIComponent(o.operatorId)}/enable`} csrf={csrf} label={`Enable ${o.username}`} />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <NextPageLink path="/ui/admin/operators" hasMore={page.hasMore} lastId={page.data.at(-1)?.operatorId} label="More" />
          <div class="card">
            <h2>New operator</h2>
            <PostForm action="/ui/admin/operators" csrf={csrf}>
              <Field name="username" label="Username" value={v.username} error={failed?.errors.fields.username} autocomplete="off" />
              <Field name="password" label="Password (10 or more characters)" type="password" error={failed?.errors.fields.password} autocomplete="new-password" />
              <Select name="role" label="Role" options={ROLES} value={v.role} error={failed?.errors.fields.role} />
              <Field name="merchantId" label="Merchant id (for maker, checker, viewer)" value={v.merchantId} required={false} error={failed?.errors.fields.merchantId} />
              <button type="submit">Create operator</button>
            </PostForm>
          </div>
        </>
      ),
    });
  }

  ctx.app.get('/ui/admin/operators', guard, (request, reply) => listPage(request, reply));

  ctx.app.post('/ui/admin/operators', guard, async (request, reply) => {
    const values = { username: formField(request.body, 'username').trim(), role: formField(request.body, 'role'), merchantId: formField(request.body, 'merchantId').trim() };
    try {
      await ctx.adminApi(request).send('POST', '/admin/operators', {
        username: values.username,
        password: formField(request.body, 'password'),
        role: values.role,
        ...(values.merchantId ? { merchantId: values.merchantId } : {}),
      });
    } catch (error) {
      return listPage(request, reply, { errors: formErrorsFrom(error), values });
    }
    return redirectTo(reply, '/ui/admin/operators?notice=operator-created');
  });

  for (const action of ['disable', 'enable'] as const) {
    ctx.app.post(`/ui/admin/operators/:id/${action}`, guard, async (request, reply) => {
      const id = (request.params as { id: string }).id;
      try {
        await ctx.adminApi(request).send('POST', `/admin/operators/${encodeURIComponent(id)}/${action}`);
      } catch (error) {
        return listPage(request, reply, { errors: formErrorsFrom(error), values: {} });
      }
      return redirectTo(reply, '/ui/admin/operators?notice=operator-updated');
    });
  }
}
