import type { FastifyRequest } from 'fastify';
import { currencies } from '../../platform/money/index.ts';
import { EntriesTable, Field, FilterForm, Flash, IdempotencyField, Money, PostForm, Select, StatusBadge, Time } from '../components.tsx';
import { formErrorsFrom, formField, idempotencyHeader, portOf, queryField, type FormErrors, type WebContext } from '../context.tsx';
import { accountsApi, type UiAccount, type UiOrder } from '../api-accounts.ts';
import { redirectTo } from '../render.ts';
import { currentSession } from '../session.ts';
import { NextPageLink, PAGE_SIZE } from './paging.tsx';
import { paymentPath } from './payment.tsx';

/** The currencies a person may hold a wallet in; card top-ups take those a channel takes. */
const WALLET_CURRENCIES = Object.keys(currencies);
const ORDER_STATUSES = ['PENDING', 'SUCCEEDED', 'FAILED'] as const;
const ORDER_TYPES = ['RECHARGE_BANK', 'RECHARGE_CARD', 'WITHDRAW', 'PURCHASE'] as const;
const ORDER_ID = /^ord_[0-9a-z]{1,60}$/;

export const orderPath = (id: string) => `/ui/orders/${encodeURIComponent(id)}`;

/** "Open account": a wallet in a currency the person has none in yet (the account is one per currency). */
export function OpenWalletForm(props: { csrf: string; held: string[] }) {
  const missing = WALLET_CURRENCIES.filter((c) => !props.held.includes(c));
  if (missing.length === 0) return null;
  return (
    <PostForm action="/ui/accounts/open" csrf={props.csrf} class="inline">
      <IdempotencyField />
      <Select name="currency" label="Open a wallet in" options={missing} />
      <button type="submit" data-testid="open-wallet">
        Open account
      </button>
    </PostForm>
  );
}

const TYPE_LABELS: Record<string, string> = {
  RECHARGE_BANK: 'Recharge (bank)',
  RECHARGE_CARD: 'Top-up (card)',
  WITHDRAW: 'Withdrawal',
  PURCHASE: 'Purchase',
};

function OrdersTable(props: { orders: UiOrder[] }) {
  if (props.orders.length === 0) return <p class="card muted">No orders yet.</p>;
  return (
    <table data-testid="orders">
      <thead>
        <tr>
          <th>Order</th>
          <th>What</th>
          <th class="num">Amount</th>
          <th>Status</th>
          <th>Created</th>
        </tr>
      </thead>
      <tbody>
        {props.orders.map((o) => (
          <tr data-order={o.id}>
            <td>
              <a href={orderPath(o.id)}>{o.id}</a>
            </td>
            <td>{TYPE_LABELS[o.type] ?? o.type}</td>
            <td class="num">
              <Money amount={o.amount} currency={o.currency} />
            </td>
            <td>
              <StatusBadge status={o.status} />
              {o.errorCode ? <div class="muted small">{o.errorCode}</div> : null}
            </td>
            <td>
              <Time iso={o.createdAt} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function TopUpForm(props: { csrf: string; accounts: UiAccount[]; cards: { id: string; cardNumberMasked: string }[]; values: Record<string, string>; errors?: FormErrors | undefined }) {
  const toppable = props.accounts.filter((a) => a.cardTopUps).map((a) => a.currency);
  if (toppable.length === 0) {
    const held = props.accounts.filter((a) => a.type === 'WALLET').map((a) => a.currency);
    return (
      <p class="card" data-testid="no-card-top-ups">
        {held.join(', ') || 'Your wallet'} is held at the depository bank: <a href="/ui/recharge">recharge it through the bank</a>. Cards top up wallets in
        other currencies: <a href="/ui/wallet">open one</a>.
      </p>
    );
  }
  if (props.cards.length === 0) {
    return (
      <p class="card">
        Add a card to pay with first: <a href="/ui/payment-cards">Payment cards</a>.
      </p>
    );
  }
  return (
    <PostForm action="/ui/card-recharge" csrf={props.csrf}>
      <IdempotencyField />
      <Select name="currency" label="Wallet" options={toppable} value={props.values.currency} error={props.errors?.fields.currency} />
      <Field name="amount" label="Amount" inputmode="decimal" value={props.values.amount} error={props.errors?.fields.amount} />
      <div class="field">
        <label for="field-cardId">Pay with card</label>
        <select id="field-cardId" name="cardId">
          {props.cards.map((card) => (
            <option value={card.id} selected={card.id === props.values.cardId}>
              {card.cardNumberMasked}
            </option>
          ))}
        </select>
      </div>
      <button type="submit">Top up and send the SMS code</button>
    </PostForm>
  );
}

/**
 * Wallet accounts per currency, card top-ups and transaction orders:
 * POST /ui/accounts/open, /ui/card-recharge (the payment's own page then takes
 * the SMS code), /ui/orders (status and type filters, paged) and
 * /ui/orders/{id} (the order with its ledger entries).
 */
export function accountsPages(ctx: WebContext): void {
  const guarded = { preHandler: ctx.requireUiUser };
  const api = (request: FastifyRequest) => accountsApi(ctx.app, currentSession(request));

  ctx.app.post('/ui/accounts/open', guarded, async (request, reply) => {
    const currency = formField(request.body, 'currency');
    try {
      await api(request).open(currency, idempotencyHeader(request.body));
      return redirectTo(reply, `/ui/wallet?currency=${encodeURIComponent(currency)}`);
    } catch (error) {
      const errors = formErrorsFrom(error);
      return ctx.render(request, reply, {
        status: errors.status,
        title: 'Wallet',
        current: '/ui/wallet',
        error: errors.message,
        children: <a href="/ui/wallet">Back to your wallet</a>,
      });
    }
  });

  async function topUpPage(request: FastifyRequest, values: Record<string, string>, errors?: FormErrors) {
    const [accounts, cards] = await Promise.all([api(request).accounts(), portOf(ctx, 'payments', 'Card payments').cards(currentSession(request))]);
    return { accounts, cards, values, errors };
  }

  ctx.app.get('/ui/card-recharge', guarded, async (request, reply) => {
    const page = await topUpPage(request, { currency: queryField(request.query, 'currency') ?? '' });
    return ctx.render(request, reply, {
      title: 'Top up by card',
      current: '/ui/wallet',
      children: <TopUpForm csrf={ctx.csrf(request, reply)} {...page} />,
    });
  });

  ctx.app.post('/ui/card-recharge', guarded, async (request, reply) => {
    const values = { amount: formField(request.body, 'amount').trim(), currency: formField(request.body, 'currency'), cardId: formField(request.body, 'cardId') };
    try {
      const started = await api(request).topUp({ amount: values.amount, currency: values.currency, cardId: values.cardId }, idempotencyHeader(request.body));
      return redirectTo(reply, paymentPath(started.payment.payOrderNo));
    } catch (error) {
      const errors = formErrorsFrom(error);
      const page = await topUpPage(request, values, errors);
      return ctx.render(request, reply, {
        status: errors.status,
        title: 'Top up by card',
        current: '/ui/wallet',
        error: errors.message,
        children: <TopUpForm csrf={ctx.csrf(request, reply)} {...page} />,
      });
    }
  });

  ctx.app.get('/ui/orders', guarded, async (request, reply) => {
    const status = queryField(request.query, 'status');
    const type = queryField(request.query, 'type');
    const after = queryField(request.query, 'after');
    const query: Record<string, string> = { limit: String(PAGE_SIZE) };
    if (status && (ORDER_STATUSES as readonly string[]).includes(status)) query.status = status;
    if (type && (ORDER_TYPES as readonly string[]).includes(type)) query.type = type;
    if (after && ORDER_ID.test(after)) query.startingAfter = after;
    const page = await api(request).orders(query);
    return ctx.render(request, reply, {
      title: 'Orders',
      current: '/ui/orders',
      children: (
        <>
          <div class="row">
            <FilterForm action="/ui/orders" name="status" label="Status" options={ORDER_STATUSES} value={query.status} />
            <FilterForm action="/ui/orders" name="type" label="Type" options={ORDER_TYPES} value={query.type} />
          </div>
          <OrdersTable orders={page.data} />
          <NextPageLink path="/ui/orders" hasMore={page.hasMore} lastId={page.data.at(-1)?.id} keep={{ status: query.status, type: query.type }} />
        </>
      ),
    });
  });

  ctx.app.get('/ui/orders/:id', guarded, async (request, reply) => {
    const order = await api(request).order((request.params as { id: string }).id);
    const paymentLink = order.type === 'RECHARGE_CARD' && order.status === 'PENDING' ? <a href={paymentPath(order.serialNo)}>Go on with the payment</a> : null;
    return ctx.render(request, reply, {
      title: `Order ${order.id}`,
      current: '/ui/orders',
      children: (
        <>
          <dl class="details card" data-testid="order-summary" data-status={order.status}>
            <dt>What</dt>
            <dd>{TYPE_LABELS[order.type] ?? order.type}</dd>
            <dt>Amount</dt>
            <dd>
              <Money amount={order.amount} currency={order.currency} />
            </dd>
            <dt>Status</dt>
            <dd>
              <StatusBadge status={order.status} /> {order.errorCode ? <span class="muted small">{order.errorCode}</span> : null}
            </dd>
            <dt>Serial number</dt>
            <dd class="muted small">{order.serialNo}</dd>
            <dt>Created</dt>
            <dd>
              <Time iso={order.createdAt} />
            </dd>
            {order.transactedAt ? (
              <>
                <dt>Done</dt>
                <dd>
                  <Time iso={order.transactedAt} />
                </dd>
              </>
            ) : null}
          </dl>
          {paymentLink ? <Flash kind="notice">{paymentLink}</Flash> : null}
          <h2>Entries</h2>
          <EntriesTable entries={order.entries} empty={order.status === 'PENDING' ? 'No money has moved yet.' : 'No money moved.'} />
          <p>
            <a href="/ui/orders">All orders</a>
          </p>
        </>
      ),
    });
  });
}
