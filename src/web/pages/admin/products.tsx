import type { FastifyReply, FastifyRequest } from 'fastify';
import { ActionButton, Field, IdempotencyField, PostForm, Select, StatusBadge, Time } from '../../components.tsx';
import { formErrorsFrom, formField, given, idempotencyHeader, type FormErrors, type WebContext } from '../../context.tsx';
import type { UiProduct, UiProductPage } from '../../ports.ts';
import { redirectTo } from '../../render.ts';
import { PagePager, pageNumber } from '../paging.tsx';
import { Progress } from '../products.tsx';

const DAY_COUNTS = ['ACT/365', 'ACT/360'];
const LIST_SIZE = 20;
/** The SPEC 7 fields an admin sets, as the form names them (the API's names). */
const TEXT_FIELDS = ['code', 'name', 'currency', 'annualRate', 'termDays', 'minAmount', 'stepAmount', 'totalAmount', 'dayCount', 'acceptorBank', 'saleStart', 'saleEnd'] as const;
const EDITABLE_FIELDS = TEXT_FIELDS.filter((name) => name !== 'code');

/** The form as the API's body: empty optional fields left out, the term a number. */
function productBody(body: unknown, names: readonly (typeof TEXT_FIELDS)[number][] = TEXT_FIELDS): Record<string, unknown> {
  const fields = given(Object.fromEntries(names.map((name) => [name, formField(body, name)])));
  const termDays = fields.termDays;
  return { ...fields, ...(termDays !== undefined ? { termDays: /^\d{1,6}$/.test(termDays) ? Number(termDays) : termDays } : {}) };
}

/** The code names the product for good: it is set at creation only. */
function ProductFields(props: { values: Partial<Record<(typeof TEXT_FIELDS)[number], string>>; errors?: FormErrors | undefined; withCode: boolean }) {
  const v = props.values;
  const f = props.errors?.fields ?? {};
  return (
    <>
      <div class="row">
        {props.withCode ? <Field name="code" label="Code" value={v.code} error={f.code} /> : null}
        <Field name="name" label="Name" value={v.name} error={f.name} />
        <Field name="currency" label="Currency" value={v.currency ?? 'CNY'} error={f.currency} />
      </div>
      <div class="row">
        <Field name="annualRate" label="Annual rate (%)" inputmode="decimal" value={v.annualRate} error={f.annualRate} placeholder="3.65" />
        <Field name="termDays" label="Term (days)" inputmode="numeric" value={v.termDays} error={f.termDays} />
        <Select name="dayCount" label="Day count" options={DAY_COUNTS} value={v.dayCount} error={f.dayCount} />
      </div>
      <div class="row">
        <Field name="minAmount" label="Minimum amount" inputmode="decimal" value={v.minAmount} error={f.minAmount} />
        <Field name="stepAmount" label="Step" inputmode="decimal" value={v.stepAmount} error={f.stepAmount} />
        <Field name="totalAmount" label="Total raise amount" inputmode="decimal" value={v.totalAmount} error={f.totalAmount} />
      </div>
      <div class="row">
        <Field name="acceptorBank" label="Acceptor bank" value={v.acceptorBank} error={f.acceptorBank} required={false} />
        <Field name="saleStart" label="Sale starts (UTC, optional)" value={v.saleStart} error={f.saleStart} required={false} placeholder="2026-12-05T00:00:00Z" />
        <Field name="saleEnd" label="Sale ends (UTC, optional)" value={v.saleEnd} error={f.saleEnd} required={false} placeholder="2026-12-31T00:00:00Z" />
      </div>
    </>
  );
}

function valuesOf(product: UiProduct): Partial<Record<(typeof TEXT_FIELDS)[number], string>> {
  return Object.fromEntries(TEXT_FIELDS.map((name) => [name, product[name] === null ? undefined : String(product[name])]));
}

function ShelfButton(props: { product: UiProduct; csrf: string }) {
  const on = props.product.onShelf === true;
  return (
    <ActionButton action={`/ui/admin/products/${encodeURIComponent(props.product.id)}/shelf`} csrf={props.csrf} label={on ? 'Take off shelf' : 'Put on shelf'} danger={on}>
      <input type="hidden" name="onShelf" value={on ? 'false' : 'true'} />
    </ActionButton>
  );
}

/**
 * The admin console's savings products (SPEC 7), over the admin JSON API:
 * every product whatever its shelf state, create with the SPEC 7 fields, edit
 * while PRESALE (the version shown is sent: a concurrent edit is a 409, never
 * overwritten), and the shelf switch.
 */
export function adminProductsPages(ctx: WebContext): void {
  const guard = { preHandler: ctx.requireAdminOperator };
  const apiPath = (id: string) => `/admin/products/${encodeURIComponent(id)}`;
  const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;

  async function listPage(request: FastifyRequest, reply: FastifyReply, failed?: { errors: FormErrors; values: Record<string, string> }) {
    const list = await ctx.adminApi(request).get<UiProductPage>(`/admin/products?page=${pageNumber(request)}&size=${LIST_SIZE}`);
    const csrf = ctx.csrf(request, reply);
    return ctx.render(request, reply, {
      status: failed?.errors.status,
      error: failed?.errors.message,
      title: 'Products',
      current: '/ui/admin/products',
      children: (
        <>
          <table data-testid="admin-products">
            <thead>
              <tr>
                <th>Product</th>
                <th class="num">Rate</th>
                <th class="num">Term</th>
                <th>Raised</th>
                <th>Status</th>
                <th>Shelf</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((p) => (
                <tr data-product={p.code}>
                  <td>
                    <a href={`/ui/admin/products/${encodeURIComponent(p.id)}`}>{p.name}</a>
                    <div class="muted small">
                      {p.code} · {p.id}
                    </div>
                  </td>
                  <td class="num">{p.annualRate}%</td>
                  <td class="num">{p.termDays} d</td>
                  <td>
                    <Progress product={p} />
                  </td>
                  <td>
                    <StatusBadge status={p.status} />
                  </td>
                  <td>
                    {p.onShelf ? 'on shelf' : 'off shelf'} <ShelfButton product={p} csrf={csrf} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <PagePager path="/ui/admin/products" page={list.page} size={list.size} total={list.total} />
          <div class="card">
            <h2>New product</h2>
            <PostForm action="/ui/admin/products" csrf={csrf}>
              <IdempotencyField />
              <ProductFields values={failed?.values ?? {}} errors={failed?.errors} withCode />
              <button type="submit">Create product</button>
            </PostForm>
          </div>
        </>
      ),
    });
  }

  async function editPage(request: FastifyRequest, reply: FastifyReply, failed?: FormErrors) {
    const product = await ctx.adminApi(request).get<UiProduct>(apiPath(idOf(request)));
    const csrf = ctx.csrf(request, reply);
    // The products module decides what may still change (nothing sold or reserved, not ended) and says why not.
    const editable = product.status !== 'ENDED';
    return ctx.render(request, reply, {
      status: failed?.status,
      error: failed?.message,
      title: `Product: ${product.name}`,
      current: '/ui/admin/products',
      children: (
        <>
          <p class="card">
            <StatusBadge status={product.status} /> {product.onShelf ? 'on shelf' : 'off shelf'} · version {product.version} · <Progress product={product} />{' '}
            <ShelfButton product={product} csrf={csrf} />
          </p>
          <div class="card">
            {editable ? (
              <PostForm action={`/ui/admin/products/${encodeURIComponent(product.id)}`} csrf={csrf}>
                <input type="hidden" name="version" value={String(product.version ?? '')} />
                <ProductFields values={valuesOf(product)} errors={failed} withCode={false} />
                <div class="actions">
                  <button type="submit">Save product</button>
                  <a href="/ui/admin/products">Cancel</a>
                </div>
              </PostForm>
            ) : (
              <p class="muted">
                The sale ended <Time iso={product.saleEnd} />: the product can no longer be edited.
              </p>
            )}
          </div>
        </>
      ),
    });
  }

  ctx.app.get('/ui/admin/products', guard, (request, reply) => listPage(request, reply));
  ctx.app.get('/ui/admin/products/:id', guard, (request, reply) => editPage(request, reply));

  ctx.app.post('/ui/admin/products', guard, async (request, reply) => {
    const body = productBody(request.body);
    let created: { id: string };
    try {
      created = await ctx.adminApi(request).send<{ id: string }>('POST', '/admin/products', body, idempotencyHeader(request.body));
    } catch (error) {
      return listPage(request, reply, { errors: formErrorsFrom(error), values: Object.fromEntries(TEXT_FIELDS.map((name) => [name, formField(request.body, name)])) });
    }
    return redirectTo(reply, `/ui/admin/products/${encodeURIComponent(created.id)}?notice=product-created`);
  });

  ctx.app.post('/ui/admin/products/:id', guard, async (request, reply) => {
    const version = Number(formField(request.body, 'version'));
    try {
      await ctx.adminApi(request).send('PUT', apiPath(idOf(request)), { ...productBody(request.body, EDITABLE_FIELDS), version });
    } catch (error) {
      return editPage(request, reply, formErrorsFrom(error));
    }
    return redirectTo(reply, `/ui/admin/products/${encodeURIComponent(idOf(request))}?notice=product-saved`);
  });

  ctx.app.post('/ui/admin/products/:id/shelf', guard, async (request, reply) => {
    try {
      await ctx.adminApi(request).send('POST', `${apiPath(idOf(request))}/shelf`, { onShelf: formField(request.body, 'onShelf') === 'true' });
    } catch (error) {
      return listPage(request, reply, { errors: formErrorsFrom(error), values: {} });
    }
    return redirectTo(reply, '/ui/admin/products?notice=product-shelved');
  });
}
