import { walletsOf, type WebContext } from '../context.tsx';
import { currentSession } from '../session.ts';

/** /ui/cards: the debit cards bound at the bank, masked. */
export function cardsPage(ctx: WebContext): void {
  ctx.app.get('/ui/cards', { preHandler: ctx.requireUiUser }, async (request, reply) => {
    const cards = await walletsOf(ctx).cards(currentSession(request));
    return ctx.render(request, reply, {
      title: 'Cards',
      current: '/ui/cards',
      children:
        cards.length === 0 ? (
          <p class="card muted">
            No bound card yet. Your debit card is bound when you <a href="/ui/wallet">open your depository account</a>.
          </p>
        ) : (
          <ul class="card" data-testid="cards">
            {cards.map((card) => (
              <li>
                {card.cardNumberMasked}
                {card.bankCode ? <span class="muted"> · {card.bankCode}</span> : null}
              </li>
            ))}
          </ul>
        ),
    });
  });
}
