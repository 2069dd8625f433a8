import type { FastifyReply, FastifyRequest } from 'fastify';
import { Field, IdempotencyField, Money, PostForm, StatusBadge, Time } from '../components.tsx';
import { formErrorsFrom, formField, idempotencyHeader, portOf, queryField, type FormErrors, type WebContext } from '../context.tsx';
import type { UiPayWith, UiProduct, UiQuote } from '../ports.ts';
import { redirectTo } from '../render.ts';
import { currentSession } from '../session.ts';
import { PagePager, pageNumber } from './paging.tsx';

const PAGE_SIZE = 10;
const PAY_WITH: { value: UiPayWith; label: string }[] = [
  { value: 'WALLET', label: 'Wallet balance' },
  { value: 'CARD', label: 'Bank card (quick pay, code by SMS)' },
];

export const productPath = (idOrCode: string) => `/ui/products/${encodeURIComponent(idOrCode)}`;

/** Raised so far out of the total raise amount, as a bar and in figures. */
export function Progress(props: { product: UiProduct }) {
  const { raisedAmount, totalAmount, currency } = props.product;
  return (
    <span class="progress">
      <progress value={raisedAmount} max={totalAmount} aria-label="Raised so far" />{' '}
      <span class="small">
        <Money amount={raisedAmount} /> / <Money amount={totalAmount} currency={currency} />
      </span>
    </span>
  );
}

function ProductTable(props: { products: UiProduct[] }) {
  return (
    <table data-testid="products">
      <thead>
        <tr>
          <th>Product</th>
          <th class="num">Annual rate</th>
          <th class="num">Term</th>
          <th>Raised</th>
          <th>Status</th>
        </tr>
      </thead>
      <tbody>
        {props.products.map((p) => (
          <tr data-product={p.code}>
            <td>
              <a href={productPath(p.code)}>{p.name}</a>
              <div class="muted small">
                {p.code} · from <Money amount={p.minAmount} currency={p.currency} />
              </div>
            </td>
            <td class="num">{p.annualRate}%</td>
            <td class="num">{p.termDays} days</td>
            <td>
              <Progress product={p} />
            </td>
            <td>
              <StatusBadge status={p.status} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ProductDetails(props: { product: UiProduct }) {
  const p = props.product;
  return (
    <dl class="details card" data-testid="product">
      <dt>Code</dt>
      <dd>{p.code}</dd>
      <dt>Annual rate</dt>
      <dd>
        {p.annualRate}% <span class="muted small">({p.dayCount ?? 'ACT/365'})</span>
      </dd>
      <dt>Term</dt>
      <dd>{p.termDays} days</dd>
      <dt>Minimum, step</dt>
      <dd>
        <Money amount={p.minAmount} currency={p.currency} />, then multiples of <Money amount={p.stepAmount} />
      </dd>
      <dt>Raised</dt>
      <dd>
        <Progress product={p} />
      </dd>
      <dt>Status</dt>
      <dd>
        <StatusBadge status={p.status} />
      </dd>
      {p.acceptorBank ? (
        <>
          <dt>Acceptor bank</dt>
          <dd>{p.acceptorBank}</dd>
        </>
      ) : null}
      {p.saleStart || p.saleEnd ? (
        <>
          <dt>On sale</dt>
          <dd>
            <Time iso={p.saleStart} /> – <Time iso={p.saleEnd} />
          </dd>
        </>
      ) : null}
    </dl>
  );
}

function QuoteCard(props: { product: UiProduct; amount: string | undefined; quote?: UiQuote | undefined; error?: string | undefined }) {
  return (
    <div class="card" data-testid="quote">
      <h2>What you would earn</h2>
      <form method="get" action={productPath(props.product.code)} class="filters">
        <Field name="amount" id="quote-amount" label="Amount" inputmode="decimal" value={props.amount} error={props.error} placeholder={props.product.minAmount} />
        <button type="submit">Quote</button>
      </form>
      {props.quote ? (
        <dl class="details" data-testid="quote-result">
          <dt>Interest</dt>
          <dd>
            <Money amount={props.quote.interest} currency={props.product.currency} />
          </dd>
          <dt>Value date</dt>
          <dd>{props.quote.valueDate}</dd>
          <dt>Maturity date</dt>
          <dd>{props.quote.maturityDate}</dd>
          <dt>At maturity</dt>
          <dd>
            <Money amount={props.quote.maturityAmount} currency={props.product.currency} />
          </dd>
        </dl>
      ) : null}
    </div>
  );
}

function BuyForm(props: { product: UiProduct; csrf: string; amount: string | undefined; payWith: string | undefined; errors?: FormErrors | undefined }) {
  const payWith = props.payWith ?? 'WALLET';
  return (
    <div class="card" data-testid="buy">
      <h2>Buy</h2>
      <PostForm action={`${productPath(props.product.code)}/buy`} csrf={props.csrf}>
        <IdempotencyField />
        <Field name="amount" label="Amount" inputmode="decimal" value={props.amount} error={props.errors?.fields.amount} placeholder={props.product.minAmount} />
        <fieldset class="field choices">
          <legend>Pay with</legend>
          {PAY_WITH.map((option) => (
            <label>
              <input type="radio" name="payWith" value={option.value} checked={option.value === payWith} /> {option.label}
            </label>
          ))}
        </fieldset>
        <button type="submit">Buy</button>
      </PostForm>
    </div>
  );
}

/**
 * /ui/products: the products on shelf (rate, term, raised so far, status);
 * /ui/products/{idOrCode}: the product, a quote for an amount (`?amount=`, so a
 * quote has its own address) and the buy form. Buying from the wallet lands in
 * the holdings; by card, on the payment page of the order's payment.
 */
export function productsPages(ctx: WebContext): void {
  const guarded = { preHandler: ctx.requireUiUser };
  const products = () => portOf(ctx, 'products', 'Savings products');

  ctx.app.get('/ui/products', guarded, async (request, reply) => {
    const list = await products().list(currentSession(request), pageNumber(request), PAGE_SIZE);
    return ctx.render(request, reply, {
      title: 'Products',
      current: '/ui/products',
      children:
        list.data.length === 0 ? (
          <p class="card muted">No products on sale right now.</p>
        ) : (
          <>
            <ProductTable products={list.data} />
            <PagePager path="/ui/products" page={list.page} size={list.size} total={list.total} />
          </>
        ),
    });
  });

  async function productPage(request: FastifyRequest, reply: FastifyReply, buy?: { amount: string; payWith: string; errors: FormErrors }) {
    const session = currentSession(request);
    const idOrCode = (request.params as { idOrCode: string }).idOrCode;
    const product = await products().product(session, idOrCode);
    const amount = queryField(request.query, 'amount')?.trim();
    let quote: UiQuote | undefined;
    let quoteError: string | undefined;
    if (amount) {
      try {
        quote = await products().quote(session, product.id, amount);
      } catch (error) {
        const failed = formErrorsFrom(error);
        quoteError = failed.fields.amount ?? failed.message;
      }
    }
    return ctx.render(request, reply, {
      status: buy?.errors.status,
      error: buy?.errors.message,
      title: product.name,
      current: '/ui/products',
      children: (
        <>
          <ProductDetails product={product} />
          <QuoteCard product={product} amount={amount} quote={quote} error={quoteError} />
          <BuyForm product={product} csrf={ctx.csrf(request, reply)} amount={buy?.amount ?? amount} payWith={buy?.payWith} errors={buy?.errors} />
        </>
      ),
    });
  }

  ctx.app.get('/ui/products/:idOrCode', guarded, (request, reply) => productPage(request, reply));

  ctx.app.post('/ui/products/:idOrCode/buy', guarded, async (request, reply) => {
    const session = currentSession(request);
    const amount = formField(request.body, 'amount').trim();
    const payWith = formField(request.body, 'payWith') === 'CARD' ? 'CARD' : 'WALLET';
    try {
      const product = await products().product(session, (request.params as { idOrCode: string }).idOrCode);
      const order = await products().subscribe(session, { productId: product.id, amount, payWith }, idempotencyHeader(request.body)['idempotency-key']);
      if (order.payOrderNo && order.status === 'AWAITING_PAYMENT') return redirectTo(reply, `/ui/payments/${encodeURIComponent(order.payOrderNo)}`);
      return redirectTo(reply, '/ui/holdings?notice=subscribed');
    } catch (error) {
      return productPage(request, reply, { amount, payWith, errors: formErrorsFrom(error) });
    }
  });
}
