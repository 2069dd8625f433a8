import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../platform/errors.ts';
import { Field, PostForm, Time } from '../components.tsx';
import { formErrorsFrom, formField, portOf, type FormErrors, type WebContext } from '../context.tsx';
import type { UiPaymentCard } from '../ports.ts';
import { redirectTo } from '../render.ts';
import { currentSession } from '../session.ts';

const CARD_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Where adding a card may send the person back to: a payment page, or this list. */
const BACK = /^\/ui\/payments\/[A-Za-z0-9_-]{1,64}$/;

/** The card details a payment channel needs; `back` is the page to return to (a payment being paid). */
export function AddPaymentCardForm(props: { csrf: string; back?: string; values?: Record<string, string> | undefined; errors?: FormErrors | undefined }) {
  const v = props.values ?? {};
  const f = props.errors?.fields ?? {};
  return (
    <PostForm action="/ui/payment-cards" csrf={props.csrf}>
      {props.back ? <input type="hidden" name="back" value={props.back} /> : null}
      <Field name="cardNumber" label="Card number" inputmode="numeric" autocomplete="cc-number" value={v.cardNumber} error={f.cardNumber} />
      <div class="row">
        <Field name="holderName" label="Name on the card" autocomplete="cc-name" value={v.holderName} error={f.holderName} />
        <Field name="bankCode" label="Bank" value={v.bankCode ?? 'ICBC'} error={f.bankCode} />
        <Field name="mobile" label="Mobile registered at the bank" type="tel" inputmode="tel" value={v.mobile} error={f.mobile} />
      </div>
      <button type="submit">Add card</button>
    </PostForm>
  );
}

function CardTable(props: { cards: UiPaymentCard[]; csrf: string }) {
  return (
    <table data-testid="payment-card-list">
      <thead>
        <tr>
          <th>Card</th>
          <th>Bank</th>
          <th>Holder</th>
          <th>SMS to</th>
          <th>Added</th>
          <th></th>
        </tr>
      </thead>
      <tbody>
        {props.cards.map((card) => (
          <tr data-card-id={card.id}>
            <td>{card.cardNumberMasked}</td>
            <td>{card.bankCode}</td>
            <td>{card.holderName}</td>
            <td>{card.mobileMasked}</td>
            <td>
              <Time iso={card.createdAt} />
            </td>
            <td>
              <PostForm action={`/ui/payment-cards/${encodeURIComponent(card.id)}/remove`} csrf={props.csrf} class="inline">
                <button type="submit" class="secondary" aria-label={`Remove card ${card.cardNumberMasked}`}>
                  Remove
                </button>
              </PostForm>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * /ui/payment-cards: the cards the person pays with by quick pay or direct
 * debit (SPEC 8), masked; add one (its number is checked and stored sealed by
 * the payments module) or remove one. These are not the depository's bound
 * debit cards (/ui/cards), which the bank holds.
 */
export function paymentCardsPages(ctx: WebContext): void {
  const guarded = { preHandler: ctx.requireUiUser };
  const payments = () => portOf(ctx, 'payments', 'Card payments');

  async function listPage(request: FastifyRequest, reply: FastifyReply, failed?: { errors: FormErrors; values?: Record<string, string>; back?: string }) {
    const cards = await payments().cards(currentSession(request));
    const csrf = ctx.csrf(request, reply);
    return ctx.render(request, reply, {
      status: failed?.errors.status,
      error: failed?.errors.message,
      title: 'Payment cards',
      current: '/ui/payment-cards',
      children: (
        <>
          {cards.length === 0 ? <p class="card muted">No payment card yet.</p> : <CardTable cards={cards} csrf={csrf} />}
          <div class="card">
            <h2>Add a card</h2>
            <AddPaymentCardForm csrf={csrf} values={failed?.values} errors={failed?.errors} {...(failed?.back ? { back: failed.back } : {})} />
          </div>
        </>
      ),
    });
  }

  ctx.app.get('/ui/payment-cards', guarded, (request, reply) => listPage(request, reply));

  ctx.app.post('/ui/payment-cards', guarded, async (request, reply) => {
    const field = (name: string) => formField(request.body, name).trim();
    const card = { cardNumber: field('cardNumber').replace(/\s+/g, ''), holderName: field('holderName'), mobile: field('mobile'), bankCode: field('bankCode') };
    const back = field('back');
    try {
      await payments().addCard(currentSession(request), card);
    } catch (error) {
      // The card number is never echoed back into the page.
      return listPage(request, reply, { errors: formErrorsFrom(error), values: { ...card, cardNumber: '' }, ...(BACK.test(back) ? { back } : {}) });
    }
    return redirectTo(reply, BACK.test(back) ? back : '/ui/payment-cards?notice=payment-card-added');
  });

  ctx.app.post<{ Params: { id: string } }>('/ui/payment-cards/:id/remove', guarded, async (request, reply) => {
    try {
      if (!CARD_ID.test(request.params.id)) throw new DomainError('NOT_FOUND', 'No such payment card.');
      await payments().removeCard(currentSession(request), request.params.id);
    } catch (error) {
      return listPage(request, reply, { errors: formErrorsFrom(error) });
    }
    return redirectTo(reply, '/ui/payment-cards?notice=payment-card-removed');
  });
}
