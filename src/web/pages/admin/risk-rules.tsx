import type { FastifyReply, FastifyRequest } from 'fastify';
import { ActionButton, Field, PostForm, Select, StatusBadge, Time } from '../../components.tsx';
import { formErrorsFrom, formField, formList, type FormErrors, type WebContext } from '../../context.tsx';
import { redirectTo } from '../../render.ts';

interface RuleView {
  id: string;
  name: string;
  type: string;
  flows: string[];
  level: string;
  enabled: boolean;
  params: { amount?: string; currency?: string; count?: number; windowMinutes?: number };
  version: number;
  updatedAt: string;
  updatedBy: string;
}

const LEVELS = ['MEDIUM', 'HIGH', 'REJECT'];
const FLOWS = ['WITHDRAW', 'PAYOUT'];

export function paramsText(rule: Pick<RuleView, 'type' | 'params'>): string {
  const p = rule.params;
  switch (rule.type) {
    case 'AMOUNT_THRESHOLD':
      return `amount >= ${p.amount} ${p.currency}`;
    case 'DAILY_AMOUNT':
      return `day's total >= ${p.amount} ${p.currency}`;
    case 'DAILY_COUNT':
      return `${p.count}th request of a day`;
    case 'VELOCITY':
      return `${p.count} requests within ${p.windowMinutes} min`;
    default:
      return 'first use of a card or account';
  }
}

/** The rule as the API's PUT body: the form's fields, or the rule as it is with `enabled` flipped. */
function ruleBody(rule: RuleView, changes: Partial<{ name: string; level: string; flows: string[]; enabled: boolean; amount: string; currency: string; count: string; windowMinutes: string }>) {
  const num = (text: string | undefined, fallback: number | undefined) => (text === undefined ? fallback : /^\d{1,9}$/.test(text.trim()) ? Number(text.trim()) : NaN);
  const params: Record<string, unknown> = {};
  if (rule.type === 'AMOUNT_THRESHOLD' || rule.type === 'DAILY_AMOUNT') {
    params.amount = (changes.amount ?? rule.params.amount ?? '').trim();
    params.currency = (changes.currency ?? rule.params.currency ?? '').trim();
  }
  if (rule.type === 'DAILY_COUNT' || rule.type === 'VELOCITY') params.count = num(changes.count, rule.params.count);
  if (rule.type === 'VELOCITY') params.windowMinutes = num(changes.windowMinutes, rule.params.windowMinutes);
  return {
    name: changes.name ?? rule.name,
    type: rule.type,
    flows: changes.flows ?? rule.flows,
    level: changes.level ?? rule.level,
    enabled: changes.enabled ?? rule.enabled,
    params,
    version: rule.version,
  };
}

/**
 * The admin console's risk rules (SPEC 6), over the admin JSON API: the list
 * with enable / disable, and an edit page per rule (thresholds, level, flows).
 * Every save carries the version that was shown: a rule edited meanwhile by
 * someone else is a 409, never overwritten. The risk module records each
 * change with the operator as its author.
 */
export function adminRiskRulesPages(ctx: WebContext): void {
  const guard = { preHandler: ctx.requireAdminOperator };
  const ruleUrl = (id: string) => `/admin/risk/rules/${encodeURIComponent(id)}`;

  async function listPage(request: FastifyRequest, reply: FastifyReply, failed?: FormErrors) {
    const rules = await ctx.adminApi(request).get<{ data: RuleView[] }>('/admin/risk/rules');
    const csrf = ctx.csrf(request, reply);
    return ctx.render(request, reply, {
      status: failed?.status,
      error: failed?.message,
      title: 'Risk rules',
      current: '/ui/admin/risk/rules',
      children: (
        <table data-testid="rules">
          <thead>
            <tr>
              <th>Rule</th>
              <th>Fires when</th>
              <th>Flows</th>
              <th>Level</th>
              <th>State</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {rules.data.map((rule) => (
              <tr data-rule={rule.id}>
                <td>
                  <a href={`/ui/admin/risk/rules/${encodeURIComponent(rule.id)}`}>{rule.name}</a>
                  <div class="muted small">
                    v{rule.version} · {rule.updatedBy}
                  </div>
                </td>
                <td>{paramsText(rule)}</td>
                <td>{rule.flows.join(', ')}</td>
                <td>
                  <StatusBadge status={rule.level} />
                </td>
                <td>{rule.enabled ? <StatusBadge status="ACTIVE" /> : <StatusBadge status="DISABLED" />}</td>
                <td>
                  <ActionButton action={`/ui/admin/risk/rules/${encodeURIComponent(rule.id)}/${rule.enabled ? 'disable' : 'enable'}`} csrf={csrf} label={rule.enabled ? 'Disable' : 'Enable'}>
                    <input type="hidden" name="version" value={String(rule.version)} />
                  </ActionButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ),
    });
  }

  async function editPage(request: FastifyRequest, reply: FastifyReply, failed?: FormErrors) {
    const id = (request.params as { id: string }).id;
    const rule = await ctx.adminApi(request).get<RuleView>(ruleUrl(id));
    const csrf = ctx.csrf(request, reply);
    const f = failed?.fields ?? {};
    return ctx.render(request, reply, {
      status: failed?.status,
      error: failed?.message,
      title: `Rule: ${rule.name}`,
      current: '/ui/admin/risk/rules',
      children: (
        <div class="card">
          <p class="muted">
            {rule.type} · version {rule.version}, last changed <Time iso={rule.updatedAt} /> by {rule.updatedBy}
          </p>
          <PostForm action={`/ui/admin/risk/rules/${encodeURIComponent(rule.id)}`} csrf={csrf}>
            <input type="hidden" name="version" value={String(rule.version)} />
            <Field name="name" label="Name" value={rule.name} error={f.name} />
            {rule.type === 'AMOUNT_THRESHOLD' || rule.type === 'DAILY_AMOUNT' ? (
              <div class="row">
                <Field name="amount" label="Threshold amount" inputmode="decimal" value={rule.params.amount} error={f.amount} />
                <Field name="currency" label="Currency" value={rule.params.currency} error={f.currency} />
              </div>
            ) : null}
            {rule.type === 'DAILY_COUNT' || rule.type === 'VELOCITY' ? <Field name="count" label="Count" inputmode="numeric" value={String(rule.params.count ?? '')} error={f.count} /> : null}
            {rule.type === 'VELOCITY' ? <Field name="windowMinutes" label="Window (minutes)" inputmode="numeric" value={String(rule.params.windowMinutes ?? '')} error={f.windowMinutes} /> : null}
            <Select name="level" label="Raises the level to" options={LEVELS} value={rule.level} />
            <fieldset class="field">
              <legend>Flows</legend>
              {FLOWS.map((flow) => (
                <label>
                  <input type="checkbox" name="flows" value={flow} checked={rule.flows.includes(flow)} /> {flow}
                </label>
              ))}
            </fieldset>
            <label class="check">
              <input type="checkbox" name="enabled" value="true" checked={rule.enabled} /> Enabled
            </label>
            <div class="actions">
              <button type="submit">Save rule</button>
              <a href="/ui/admin/risk/rules">Cancel</a>
            </div>
          </PostForm>
        </div>
      ),
    });
  }

  ctx.app.get('/ui/admin/risk', guard, async (_request, reply) => redirectTo(reply, '/ui/admin/risk/rules'));
  ctx.app.get('/ui/admin/risk/rules', guard, (request, reply) => listPage(request, reply));
  ctx.app.get('/ui/admin/risk/rules/:id', guard, (request, reply) => editPage(request, reply));

  /** The rule as shown (the version the form carried), changed and PUT back. */
  async function save(request: FastifyRequest, changes: Parameters<typeof ruleBody>[1]) {
    const id = (request.params as { id: string }).id;
    const api = ctx.adminApi(request);
    const rule = await api.get<RuleView>(ruleUrl(id));
    const shown = Number(formField(request.body, 'version'));
    await api.send('PUT', ruleUrl(id), ruleBody({ ...rule, version: Number.isInteger(shown) && shown > 0 ? shown : rule.version }, changes));
  }

  ctx.app.post('/ui/admin/risk/rules/:id', guard, async (request, reply) => {
    const field = (name: string) => formField(request.body, name);
    try {
      await save(request, {
        name: field('name').trim(),
        level: field('level'),
        flows: formList(request.body, 'flows'),
        enabled: field('enabled') === 'true',
        amount: field('amount'),
        currency: field('currency'),
        count: field('count'),
        windowMinutes: field('windowMinutes'),
      });
    } catch (error) {
      return editPage(request, reply, formErrorsFrom(error));
    }
    return redirectTo(reply, '/ui/admin/risk/rules?notice=rule-saved');
  });

  for (const action of ['enable', 'disable'] as const) {
    ctx.app.post(`/ui/admin/risk/rules/:id/${action}`, guard, async (request, reply) => {
      try {
        await save(request, { enabled: action === 'enable' });
      } catch (error) {
        return listPage(request, reply, formErrorsFrom(error));
      }
      return redirectTo(reply, '/ui/admin/risk/rules?notice=rule-saved');
    });
  }
}
