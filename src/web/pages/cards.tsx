import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../platform/errors.ts';
import { PostForm } from '../components.tsx';
import { formErrorsFrom, queryField, walletsOf, type WebContext } from '../context.tsx';
import type { UiCard } from '../ports.ts';
import { redirectTo } from '../render.ts';
import { currentSession } from '../session.ts';
import { callbackUrl, renderGatewayPage } from './gateway.tsx';

const CARD_ID = /^[A-Za-z0-9_-]{1,64}$/;

function CardList(props: { cards: UiCard[]; csrf: string }) {
  if (props.cards.length === 0) {
    return (
      <p class="card muted">
        No bound card yet. Your first debit card is bound when you <a href="/ui/wallet">open your depository account</a>.
      </p>
    );
  }
  return (
    <ul class="card" data-testid="cards">
      {props.cards.map((card) => (
        <li data-testid="card" data-card-id={card.id}>
          {card.cardNumberMasked}
          {card.bankCode ? <span class="muted"> · {card.bankCode}</span> : null}{' '}
          <PostForm action={`/ui/cards/${encodeURIComponent(card.id)}/remove`} csrf={props.csrf} class="inline">
            <button type="submit" class="secondary" aria-label={`Remove card ${card.cardNumberMasked}`}>
              Remove
            </button>
          </PostForm>
        </li>
      ))}
    </ul>
  );
}

function AddCard(props: { csrf: string }) {
  return (
    <div class="card" data-testid="add-card">
      <p class="muted">Add another debit card in your own name. You enter it, with your transaction password, at your bank.</p>
      <PostForm action="/ui/cards/add" csrf={props.csrf} boost={false}>
        <button type="submit">Add a card</button>
      </PostForm>
    </div>
  );
}

/**
 * /ui/cards: the debit cards bound at the bank, masked; "Add a card" goes to the
 * bank's hosted page (BIND_CARD) as a recharge does, "Remove" removes one.
 */
export function cardsPage(ctx: WebContext): void {
  const guarded = { preHandler: ctx.requireUiUser };

  async function showCards(request: FastifyRequest, reply: FastifyReply, failure?: { status: number; message: string }) {
    const cards = await walletsOf(ctx).cards(currentSession(request));
    const csrf = ctx.csrf(request, reply);
    return ctx.render(request, reply, {
      title: 'Cards',
      current: '/ui/cards',
      ...(failure ? { status: failure.status, error: failure.message } : {}),
      children: (
        <>
          <CardList cards={cards} csrf={csrf} />
          <AddCard csrf={csrf} />
        </>
      ),
    });
  }

  ctx.app.get('/ui/cards', guarded, async (request, reply) => {
    // Back from the bank with status=FAIL (e.g. too many wrong passwords): say so rather than "once the bank confirms".
    if (queryField(request.query, 'notice') === 'card-bank-returned' && queryField(request.query, 'status') === 'FAIL') {
      return redirectTo(reply, '/ui/cards?notice=card-bank-failed');
    }
    return showCards(request, reply);
  });

  ctx.app.post('/ui/cards/add', guarded, async (request, reply) => {
    try {
      const gateway = await walletsOf(ctx).bindCard(currentSession(request), callbackUrl(request, '/ui/cards?notice=card-bank-returned'));
      return await renderGatewayPage(ctx, request, reply, gateway, {
        title: 'Add a card',
        current: '/ui/cards',
        summary: <p data-testid="gateway-summary">Your bank will ask for the new debit card (in your own name) and your transaction password.</p>,
      });
    } catch (error) {
      const errors = formErrorsFrom(error);
      return showCards(request, reply, errors);
    }
  });

  ctx.app.post<{ Params: { id: string } }>('/ui/cards/:id/remove', guarded, async (request, reply) => {
    const id = request.params.id;
    try {
      if (!CARD_ID.test(id)) throw new DomainError('CARD_NOT_FOUND');
      await walletsOf(ctx).removeCard(currentSession(request), id);
    } catch (error) {
      return showCards(request, reply, formErrorsFrom(error));
    }
    return redirectTo(reply, '/ui/cards?notice=card-removed');
  });
}
