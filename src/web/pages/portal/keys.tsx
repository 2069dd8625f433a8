import type { FastifyReply, FastifyRequest } from 'fastify';
import { ActionButton, PostForm, StatusBadge, Time } from '../../components.tsx';
import { formErrorsFrom, portOf, type WebContext } from '../../context.tsx';
import type { UiOperator } from '../../ports.ts';
import { redirectTo } from '../../render.ts';
import { currentMerchantId, currentOperator } from '../../session.ts';

/**
 * Who may make which key: an operator creates keys of their own role only (a
 * maker maker keys, a checker checker keys; a viewer none). A key never
 * carries more power than the person who made it, so a maker cannot mint a
 * checker key and approve their own batches through the API. Revoking only
 * takes power away, so any maker or checker may revoke any of the merchant's
 * keys (a leaked key should not wait for the right person).
 */
export function keyRoleOf(operator: UiOperator): 'maker' | 'checker' | undefined {
  return operator.role === 'maker' || operator.role === 'checker' ? operator.role : undefined;
}

/** /ui/portal/keys: the merchant's API keys; create (secret shown once) and revoke. */
export function portalKeysPages(ctx: WebContext): void {
  const read = { preHandler: ctx.requirePortalOperator() };
  const write = { preHandler: ctx.requirePortalOperator(['maker', 'checker']) };
  const actor = (request: FastifyRequest) => ({ operatorId: currentOperator(request).id, requestId: request.id });

  async function listPage(request: FastifyRequest, reply: FastifyReply, failed?: { status: number; error: string }) {
    const portal = portOf(ctx, 'portal', 'The merchant portal');
    const operator = currentOperator(request);
    const keys = await portal.apiKeys(currentMerchantId(request));
    const csrf = ctx.csrf(request, reply);
    const mine = keyRoleOf(operator);
    return ctx.render(request, reply, {
      status: failed?.status,
      error: failed?.error,
      title: 'API keys',
      current: '/ui/portal/keys',
      children: (
        <>
          {keys.length === 0 ? (
            <p class="card muted">No API keys yet.</p>
          ) : (
            <table data-testid="api-keys">
              <thead>
                <tr>
                  <th>Key id</th>
                  <th>Role</th>
                  <th>Created</th>
                  <th>State</th>
                  <th></th>
                </tr>
              </thead>
              <tbody>
                {keys.map((key) => (
                  <tr>
                    <td>
                      <code>{key.id}</code>
                    </td>
                    <td>{key.role}</td>
                    <td>
                      <Time iso={key.createdAt} />
                    </td>
                    <td>{key.revokedAt ? <StatusBadge status="REVOKED" /> : <StatusBadge status="ACTIVE" />}</td>
                    <td>
                      {!key.revokedAt && mine ? (
                        <ActionButton action={`/ui/portal/keys/${encodeURIComponent(key.id)}/revoke`} csrf={csrf} label={`Revoke ${key.id}`} danger />
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {mine ? (
            <div class="card">
              <p>
                A new <strong>{mine}</strong> key (you may create keys of your own role). Its secret is shown once, on the next page.
              </p>
              <PostForm action="/ui/portal/keys" csrf={csrf}>
                <button type="submit">Create {mine} key</button>
              </PostForm>
            </div>
          ) : (
            <p class="muted">Viewers can see keys but not create or revoke them.</p>
          )}
        </>
      ),
    });
  }

  ctx.app.get('/ui/portal/keys', read, (request, reply) => listPage(request, reply));

  ctx.app.post('/ui/portal/keys', write, async (request, reply) => {
    const portal = portOf(ctx, 'portal', 'The merchant portal');
    const operator = currentOperator(request);
    let created;
    try {
      created = await portal.createApiKey(currentMerchantId(request), keyRoleOf(operator)!, actor(request));
    } catch (error) {
      const failure = formErrorsFrom(error);
      return listPage(request, reply, { status: failure.status, error: failure.message });
    }
    // The secret is in this answer only: not a redirect, and never cached (sendPage says no-store).
    return ctx.render(request, reply, {
      status: 201,
      title: 'New API key',
      current: '/ui/portal/keys',
      children: (
        <div class="card">
          <p>
            Key id <code data-testid="new-key-id">{created.key.id}</code> ({created.key.role})
          </p>
          <p>
            Secret: <code data-testid="new-key-secret">{created.secret}</code>
          </p>
          <p class="flash flash-notice">Copy the secret now: it is shown only this once. Coffer keeps it sealed and cannot show it again.</p>
          <a href="/ui/portal/keys">Back to API keys</a>
        </div>
      ),
    });
  });

  ctx.app.post('/ui/portal/keys/:keyId/revoke', write, async (request, reply) => {
    const portal = portOf(ctx, 'portal', 'The merchant portal');
    const keyId = (request.params as { keyId: string }).keyId;
    try {
      await portal.revokeApiKey(currentMerchantId(request), keyId, actor(request));
    } catch (error) {
      const failure = formErrorsFrom(error);
      return listPage(request, reply, { status: failure.status, error: failure.message });
    }
    return redirectTo(reply, '/ui/portal/keys?notice=key-revoked');
  });
}
