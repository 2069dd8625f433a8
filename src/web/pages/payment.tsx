import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ComponentChildren } from 'preact';
import { Field, Flash, Money, PostForm, StatusBadge, Time } from '../components.tsx';
import { formErrorsFrom, formField, portOf, type FormErrors, type WebContext } from '../context.tsx';
import { messageFor } from '../messages.ts';
import type { UiCoupon, UiPayment, UiPaymentCard } from '../ports.ts';
import { redirectTo } from '../render.ts';
import { currentSession } from '../session.ts';
import { AddPaymentCardForm } from './payment-cards.tsx';

export const paymentPath = (payOrderNo: string) => `/ui/payments/${encodeURIComponent(payOrderNo)}`;

/** Where the shared sentences (messages.ts) would send the person elsewhere: here a new code is one button away. */
const PAYMENT_MESSAGES: Record<string, string> = {
  SMS_CODE_EXPIRED: 'That code has expired (or a newer one was sent). Use the newest code, or press "Send a new code".',
  SMS_CODE_ATTEMPTS_EXCEEDED: 'Too many wrong codes. Press "Send a new code" for another.',
};

function paymentErrors(error: unknown): FormErrors {
  const errors = formErrorsFrom(error);
  return { ...errors, message: PAYMENT_MESSAGES[errors.code] ?? errors.message };
}

/** Seconds between two looks at a payment whose outcome is still coming. */
const POLL_SECONDS = 2;

function Summary(props: { payment: UiPayment }) {
  const p = props.payment;
  return (
    <dl class="details card" data-testid="payment-summary">
      <dt>For</dt>
      <dd>{p.description}</dd>
      <dt>Amount</dt>
      <dd>
        <Money amount={p.amount} currency={p.currency} />
      </dd>
      {p.discount !== '0.00' && p.discount !== '0' ? (
        <>
          <dt>Coupon</dt>
          <dd>
            −<Money amount={p.discount} />
          </dd>
        </>
      ) : null}
      <dt>To pay</dt>
      <dd>
        <strong>
          <Money amount={p.payable} currency={p.currency} />
        </strong>
      </dd>
      <dt>Status</dt>
      <dd>
        <StatusBadge status={p.status} /> {p.method ? <span class="muted small">{p.method === 'DIRECT_DEBIT' ? 'direct debit' : 'quick pay'}</span> : null}
      </dd>
      {p.status === 'DOING' ? (
        <>
          <dt>Pay before</dt>
          <dd>
            <Time iso={p.expiresAt} />
          </dd>
        </>
      ) : null}
      <dt>Order</dt>
      <dd class="muted small">{p.payOrderNo}</dd>
    </dl>
  );
}

/**
 * Who sent the code. After the fallback (no quick-pay channel could take the
 * payment, or its SMS failed) Coffer texts its own code and the money is then
 * collected by direct debit: the person sees which path their payment took.
 */
function SmsSender(props: { payment: UiPayment }) {
  const p = props.payment;
  const to = p.mobileMasked ? ` to ${p.mobileMasked}` : '';
  return (
    <p data-testid="sms-sent-by" data-sent-by={p.smsSentBy ?? ''}>
      {p.smsSentBy === 'COFFER'
        ? `Code sent by Coffer's own SMS${to}. The quick-pay channels could not take this payment, so it falls back to direct debit${p.channel ? ` through ${p.channel}` : ''}.`
        : `Code sent by the quick-pay channel ${p.channel ?? ''}${to}.`}
    </p>
  );
}

function couponLabel(coupon: UiCoupon): string {
  return `${coupon.amountOff} ${coupon.currency} off, on ${coupon.minSpend} or more (until ${coupon.expiresAt.slice(0, 10)})`;
}

/** Card and coupon, then "Send code" (again: a new code, or another card or coupon before confirming). */
function SendCodeForm(props: { payment: UiPayment; cards: UiPaymentCard[]; coupons: UiCoupon[]; csrf: string; again: boolean }) {
  const p = props.payment;
  const chosenCard = p.cardId ?? props.cards[0]?.id;
  return (
    <PostForm action={`${paymentPath(p.payOrderNo)}/sms`} csrf={props.csrf}>
      <fieldset class="field choices" data-testid="payment-cards">
        <legend>Pay with card</legend>
        {props.cards.map((card) => (
          <label>
            <input type="radio" name="cardId" value={card.id} checked={card.id === chosenCard} /> {card.cardNumberMasked}{' '}
            <span class="muted small">
              {card.bankCode} · {card.holderName} · {card.mobileMasked}
            </span>
          </label>
        ))}
      </fieldset>
      <div class="field">
        <label for="field-couponId">Coupon</label>
        <select id="field-couponId" name="couponId">
          <option value="">No coupon</option>
          {props.coupons.map((coupon) => (
            <option value={coupon.id} selected={coupon.id === p.couponId}>
              {couponLabel(coupon)}
            </option>
          ))}
        </select>
      </div>
      <button type="submit" class={props.again ? 'secondary' : undefined}>
        {props.again ? 'Send a new code' : 'Send code'}
      </button>
    </PostForm>
  );
}

function ConfirmForm(props: { payment: UiPayment; csrf: string; errors?: FormErrors | undefined }) {
  return (
    <PostForm action={`${paymentPath(props.payment.payOrderNo)}/confirm`} csrf={props.csrf}>
      <Field name="smsCode" label="Code from the SMS" inputmode="numeric" autocomplete="one-time-code" error={props.errors?.fields.smsCode} />
      <button type="submit">Confirm payment</button>
    </PostForm>
  );
}

/**
 * While the outcome is coming (the channel is being asked, or its answer was
 * lost and it is being queried), the page looks again every few seconds: htmx
 * swaps in the fresh page body, or, without script, the link does it by hand.
 */
function Processing(props: { payment: UiPayment }) {
  const url = paymentPath(props.payment.payOrderNo);
  return (
    <div class="card" data-testid="payment-processing">
      <p>
        {props.payment.step === 'UNKNOWN_OUTCOME'
          ? 'The payment channel has not answered yet. We are asking it where the payment stands; nothing will be taken twice.'
          : 'Your payment is being processed.'}
      </p>
      <p class="muted small">
        This page updates by itself. <a href={url}>Check now</a>
      </p>
      <div hx-get={url} hx-trigger={`every ${POLL_SECONDS}s`} hx-select="#main" hx-target="#main" hx-swap="outerHTML"></div>
    </div>
  );
}

/** The reason as part of a sentence (no full stop of its own). */
function failureReason(p: UiPayment): string {
  const reason = p.errorCode ? messageFor(p.errorCode, p.errorMessage) : (p.errorMessage ?? 'it was cancelled or expired');
  return reason.replace(/\.$/, '');
}

function Outcome(props: { payment: UiPayment }) {
  const p = props.payment;
  const next =
    p.businessType === 'SUBSCRIPTION' ? (
      <a href="/ui/holdings">See your holdings</a>
    ) : p.businessType === 'RECHARGE' ? (
      <a href={`/ui/orders/${encodeURIComponent(p.businessOrderNo)}`}>See your top-up order</a>
    ) : (
      <a href="/ui/wallet">Back to your wallet</a>
    );
  if (p.status === 'SUCCESS') {
    return (
      <div class="card" data-testid="payment-outcome" data-status="SUCCESS">
        <Flash kind="notice">
          Paid: <Money amount={p.payable} currency={p.currency} />
          {p.channel ? ` through ${p.channel}` : ''}.
        </Flash>
        <p>{next}</p>
      </div>
    );
  }
  return (
    <div class="card" data-testid="payment-outcome" data-status="FAIL">
      <Flash kind="error">The payment did not go through: {failureReason(p)}. Nothing was taken.</Flash>
      <p>{next}</p>
    </div>
  );
}

/**
 * /ui/payments/{payOrderNo}: paying by card (SPEC 8). Choose a payment card (or
 * add one) and a coupon, "Send code", type the code, confirm; the page then
 * says who sent the code (the quick-pay channel, or Coffer after the fallback
 * to direct debit) and ends on SUCCESS or FAIL, looking again by itself while
 * the outcome is unknown.
 */
export function paymentPages(ctx: WebContext): void {
  const guarded = { preHandler: ctx.requireUiUser };
  const payments = () => portOf(ctx, 'payments', 'Card payments');
  const payOrderNoOf = (request: FastifyRequest) => (request.params as { payOrderNo: string }).payOrderNo;

  /** What the person can do now: pick card and coupon, type the code, wait, or read the outcome. */
  async function nextStep(session: string, payment: UiPayment, csrf: string, failed: FormErrors | undefined): Promise<ComponentChildren> {
    if (payment.status !== 'DOING') return <Outcome payment={payment} />;
    if (payment.step === 'CONFIRMING' || payment.step === 'UNKNOWN_OUTCOME') return <Processing payment={payment} />;
    const [cards, coupons] = await Promise.all([payments().cards(session), payments().coupons(session)]);
    const back = paymentPath(payment.payOrderNo);
    if (cards.length === 0) {
      return (
        <div class="card">
          <p>Add the card you want to pay with.</p>
          <AddPaymentCardForm csrf={csrf} back={back} />
        </div>
      );
    }
    const usable = coupons.filter((c) => c.currency === payment.currency && (c.status === 'AVAILABLE' || c.payOrderNo === payment.payOrderNo));
    const codeSent = payment.step === 'SMS_SENT';
    return (
      <>
        {codeSent ? (
          <div class="card" data-testid="confirm">
            <SmsSender payment={payment} />
            <ConfirmForm payment={payment} csrf={csrf} errors={failed} />
          </div>
        ) : null}
        <div class="card" data-testid="send-code">
          <SendCodeForm payment={payment} cards={cards} coupons={usable} csrf={csrf} again={codeSent} />
          <details>
            <summary>Pay with another card</summary>
            <AddPaymentCardForm csrf={csrf} back={back} />
          </details>
        </div>
      </>
    );
  }

  async function paymentPage(request: FastifyRequest, reply: FastifyReply, failed?: FormErrors) {
    const session = currentSession(request);
    const payment = await payments().payment(session, payOrderNoOf(request));
    const step = await nextStep(session, payment, ctx.csrf(request, reply), failed);
    return ctx.render(request, reply, {
      status: failed?.status,
      error: failed?.message,
      title: 'Pay by card',
      children: (
        <>
          <Summary payment={payment} />
          {step}
        </>
      ),
    });
  }

  ctx.app.get('/ui/payments/:payOrderNo', guarded, (request, reply) => paymentPage(request, reply));

  ctx.app.post('/ui/payments/:payOrderNo/sms', guarded, async (request, reply) => {
    const couponId = formField(request.body, 'couponId');
    try {
      await payments().sendSms(currentSession(request), payOrderNoOf(request), { cardId: formField(request.body, 'cardId'), ...(couponId ? { couponId } : {}) });
    } catch (error) {
      return paymentPage(request, reply, paymentErrors(error));
    }
    return redirectTo(reply, paymentPath(payOrderNoOf(request)));
  });

  ctx.app.post('/ui/payments/:payOrderNo/confirm', guarded, async (request, reply) => {
    try {
      await payments().confirm(currentSession(request), payOrderNoOf(request), formField(request.body, 'smsCode').trim());
    } catch (error) {
      return paymentPage(request, reply, paymentErrors(error));
    }
    return redirectTo(reply, paymentPath(payOrderNoOf(request)));
  });
}
