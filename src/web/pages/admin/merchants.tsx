import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../../platform/errors.ts';
import { ActionButton, EntriesTable, Field, IdempotencyField, Money, PostForm, StatusBadge } from '../../components.tsx';
import { formErrorsFrom, formField, formList, given, idempotencyHeader, queryField, type FormErrors, type WebContext } from '../../context.tsx';
import type { UiEntry } from '../../ports.ts';
import { redirectTo } from '../../render.ts';
import { NextPageLink, PAGE_SIZE, pageQuery } from '../paging.tsx';

interface FeeView {
  product: string;
  currency: string;
  fixed: string;
  rateBp: number;
  min: string | null;
  max: string | null;
}

interface MerchantView {
  merchantId: string;
  name: string;
  status: string;
  products: string[];
  fees: FeeView[];
  createdAt: string;
}

interface SettlementAccount {
  accountId: string;
  accountNo: string;
  currency: string;
  balance: string;
  available: string;
  pendingDebits: string;
  status: string;
}

const PRODUCTS = ['PAYOUT_SINGLE', 'PAYOUT_BATCH'];

function CreateMerchantForm(props: { csrf: string; values?: Record<string, string> | undefined }) {
  const v = props.values ?? {};
  return (
    <div class="card">
      <h2>New merchant</h2>
      <PostForm action="/ui/admin/merchants" csrf={props.csrf}>
        <IdempotencyField />
        <Field name="name" label="Name" value={v.name} />
        <fieldset class="field">
          <legend>Products</legend>
          {PRODUCTS.map((product) => (
            <label>
              <input type="checkbox" name="products" value={product} checked /> {product}
            </label>
          ))}
        </fieldset>
        <p class="muted">Fee for each product (optional): fixed + rate, clamped to min and max.</p>
        <div class="row">
          <Field name="currency" label="Currency" value={v.currency ?? 'CNY'} />
          <Field name="fixed" label="Fixed fee" inputmode="decimal" value={v.fixed} required={false} placeholder="1.00" />
          <Field name="rateBp" label="Rate (basis points)" inputmode="numeric" value={v.rateBp} required={false} placeholder="50" />
          <Field name="min" label="Min fee" inputmode="decimal" value={v.min} required={false} />
          <Field name="max" label="Max fee" inputmode="decimal" value={v.max} required={false} />
        </div>
        <button type="submit">Create merchant</button>
      </PostForm>
    </div>
  );
}

function FeeList(props: { fees: FeeView[] }) {
  if (props.fees.length === 0) return <span class="muted">no fees</span>;
  return (
    <ul class="plain">
      {props.fees.map((fee) => (
        <li>
          {fee.product} {fee.currency}: {fee.fixed} + {fee.rateBp} bp{fee.min ? `, min ${fee.min}` : ''}
          {fee.max ? `, max ${fee.max}` : ''}
        </li>
      ))}
    </ul>
  );
}

/**
 * The admin console's merchants (SPEC 5 onboarding), over the admin JSON API
 * as the logged-in admin operator: list and create (products and fees),
 * activate and suspend, fund by adjustment (with a reason), each create and
 * fund form carrying its own Idempotency-Key (a double submit acts once),
 * the settlement accounts and their entries.
 */
export function adminMerchantsPages(ctx: WebContext): void {
  const guard = { preHandler: ctx.requireAdminOperator };

  async function listPage(request: FastifyRequest, reply: FastifyReply, failed?: { status: number; error: string; values: Record<string, string> }) {
    const query = pageQuery(request);
    const search = new URLSearchParams({ limit: String(query.limit), ...(query.startingAfter ? { startingAfter: query.startingAfter } : {}) });
    const page = await ctx.adminApi(request).get<{ data: MerchantView[]; hasMore: boolean }>(`/admin/merchants?${search}`);
    const csrf = ctx.csrf(request, reply);
    return ctx.render(request, reply, {
      status: failed?.status,
      error: failed?.error,
      title: 'Merchants',
      current: '/ui/admin/merchants',
      children: (
        <>
          <table data-testid="merchants">
            <thead>
              <tr>
                <th>Merchant</th>
                <th>Status</th>
                <th>Products</th>
                <th>Fees</th>
              </tr>
            </thead>
            <tbody>
              {page.data.map((m) => (
                <tr>
                  <td>
                    <a href={`/ui/admin/merchants/${encodeURIComponent(m.merchantId)}`}>{m.name}</a>
                    <div class="muted small">{m.merchantId}</div>
                  </td>
                  <td>
                    <StatusBadge status={m.status} />
                  </td>
                  <td>{m.products.join(', ')}</td>
                  <td>
                    <FeeList fees={m.fees} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <NextPageLink path="/ui/admin/merchants" hasMore={page.hasMore} lastId={page.data.at(-1)?.merchantId} label="More" />
          <CreateMerchantForm csrf={csrf} values={failed?.values} />
        </>
      ),
    });
  }

  ctx.app.get('/ui/admin', guard, async (_request, reply) => redirectTo(reply, '/ui/admin/merchants'));
  ctx.app.get('/ui/admin/merchants', guard, (request, reply) => listPage(request, reply));

  ctx.app.post('/ui/admin/merchants', guard, async (request, reply) => {
    const values = {
      name: formField(request.body, 'name'),
      currency: formField(request.body, 'currency') || 'CNY',
      fixed: formField(request.body, 'fixed'),
      rateBp: formField(request.body, 'rateBp'),
      min: formField(request.body, 'min'),
      max: formField(request.body, 'max'),
    };
    const products = formList(request.body, 'products');
    const { currency, rateBp, ...amounts } = given({ currency: values.currency, fixed: values.fixed, rateBp: values.rateBp, min: values.min, max: values.max });
    const hasFee = Object.keys(amounts).length > 0 || rateBp !== undefined;
    const fees = hasFee
      ? products.map((product) => ({ product, currency: currency ?? 'CNY', ...amounts, ...(rateBp !== undefined ? { rateBp: Number(rateBp) } : {}) }))
      : undefined;
    try {
      if (rateBp !== undefined && !/^\d{1,5}$/.test(rateBp)) throw new DomainError('VALIDATION_FAILED', 'The rate is whole basis points, 0 to 10000 (50 = 0.50 %).');
      const created = await ctx.adminApi(request).send<MerchantView>('POST', '/admin/merchants', { name: values.name.trim(), products, ...(fees ? { fees } : {}) }, idempotencyHeader(request.body));
      return redirectTo(reply, `/ui/admin/merchants/${encodeURIComponent(created.merchantId)}?notice=merchant-created`);
    } catch (error) {
      const failure = formErrorsFrom(error);
      return listPage(request, reply, { status: failure.status, error: failure.message, values });
    }
  });

  async function detailPage(request: FastifyRequest, reply: FastifyReply, failed?: FormErrors) {
    const id = (request.params as { id: string }).id;
    const api = ctx.adminApi(request);
    const merchant = await api.get<MerchantView & { settlementAccounts: SettlementAccount[] }>(`/admin/merchants/${encodeURIComponent(id)}`);
    const currency = queryField(request.query, 'currency') ?? merchant.settlementAccounts[0]?.currency;
    const account = merchant.settlementAccounts.find((a) => a.currency === currency);
    const after = queryField(request.query, 'after');
    const entries = account
      ? await api.get<{ data: (UiEntry & { seq: string })[]; hasMore: boolean }>(
          `/admin/ledger/accounts/${encodeURIComponent(account.accountId)}/entries?limit=${PAGE_SIZE}${after ? `&startingAfter=${encodeURIComponent(after)}` : ''}`,
        )
      : { data: [], hasMore: false };
    const csrf = ctx.csrf(request, reply);
    const base = `/ui/admin/merchants/${encodeURIComponent(merchant.merchantId)}`;
    return ctx.render(request, reply, {
      status: failed?.status,
      error: failed?.message,
      title: merchant.name,
      current: '/ui/admin/merchants',
      children: (
        <>
          <div class="card">
            <p>
              <StatusBadge status={merchant.status} /> <span class="muted">{merchant.merchantId}</span>
            </p>
            <p>Products: {merchant.products.join(', ') || 'none'}</p>
            <FeeList fees={merchant.fees} />
            <div class="actions">
              {merchant.status !== 'ACTIVE' ? <ActionButton action={`${base}/activate`} csrf={csrf} label="Activate" /> : null}
              {merchant.status === 'ACTIVE' ? <ActionButton action={`${base}/suspend`} csrf={csrf} label="Suspend" danger /> : null}
            </div>
          </div>
          <h2>Settlement accounts</h2>
          {merchant.settlementAccounts.length === 0 ? (
            <p class="card muted">No settlement account yet: the first adjustment opens one.</p>
          ) : (
            <table data-testid="settlement-accounts">
              <thead>
                <tr>
                  <th>Account</th>
                  <th class="num">Balance</th>
                  <th class="num">Available</th>
                  <th class="num">Held</th>
                </tr>
              </thead>
              <tbody>
                {merchant.settlementAccounts.map((a) => (
                  <tr>
                    <td>
                      <a href={`${base}?currency=${a.currency}`}>{a.accountNo}</a> <StatusBadge status={a.status} />
                    </td>
                    <td class="num">
                      <Money amount={a.balance} currency={a.currency} />
                    </td>
                    <td class="num">
                      <Money amount={a.available} currency={a.currency} />
                    </td>
                    <td class="num">
                      <Money amount={a.pendingDebits} currency={a.currency} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {account ? (
            <>
              <h3>Entries ({account.currency})</h3>
              <EntriesTable entries={entries.data.map((e) => ({ ...e, id: e.seq }))} />
              <NextPageLink path={base} hasMore={entries.hasMore} lastId={entries.data.at(-1)?.seq} keep={{ currency: account.currency }} />
            </>
          ) : null}
          <div class="card">
            <h2>Fund by adjustment</h2>
            <PostForm action={`${base}/adjustments`} csrf={csrf}>
              <IdempotencyField />
              <div class="row">
                <Field name="amount" label="Amount" inputmode="decimal" placeholder="1000.00" error={failed?.fields.amount} />
                <Field name="currency" label="Currency" value="CNY" error={failed?.fields.currency} />
              </div>
              <Field name="reason" label="Reason (kept in the audit log)" error={failed?.fields.reason} />
              <button type="submit">Credit settlement account</button>
            </PostForm>
          </div>
        </>
      ),
    });
  }

  ctx.app.get('/ui/admin/merchants/:id', guard, (request, reply) => detailPage(request, reply));

  for (const action of ['activate', 'suspend'] as const) {
    ctx.app.post(`/ui/admin/merchants/:id/${action}`, guard, async (request, reply) => {
      const id = (request.params as { id: string }).id;
      try {
        await ctx.adminApi(request).send('POST', `/admin/merchants/${encodeURIComponent(id)}/${action}`);
      } catch (error) {
        return detailPage(request, reply, formErrorsFrom(error));
      }
      return redirectTo(reply, `/ui/admin/merchants/${encodeURIComponent(id)}?notice=merchant-updated`);
    });
  }

  ctx.app.post('/ui/admin/merchants/:id/adjustments', guard, async (request, reply) => {
    const id = (request.params as { id: string }).id;
    const body = { amount: formField(request.body, 'amount').trim(), currency: formField(request.body, 'currency').trim(), reason: formField(request.body, 'reason') };
    try {
      await ctx.adminApi(request).send('POST', `/admin/merchants/${encodeURIComponent(id)}/adjustments`, body, idempotencyHeader(request.body));
    } catch (error) {
      return detailPage(request, reply, formErrorsFrom(error));
    }
    return redirectTo(reply, `/ui/admin/merchants/${encodeURIComponent(id)}?currency=${encodeURIComponent(body.currency)}&notice=merchant-funded`);
  });
}
