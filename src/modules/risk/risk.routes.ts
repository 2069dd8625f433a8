import type { FastifyRequest } from 'fastify';
import { DomainError } from '../../platform/errors.ts';
import { adminSecurity } from '../../platform/http/auth.ts';
import { ProblemSchema } from '../../platform/http/problem.ts';
import type { HttpModule } from '../../platform/http/server.ts';
import { currencyCode, formatMinor, parseMoney } from '../../platform/money/index.ts';
import * as s from './risk.schemas.ts';
import type { RiskService } from './risk.service.ts';
import type { BlacklistEntry, Decision, Rule, RuleInput, RuleParams } from './risk.types.ts';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 422: ProblemSchema };

function ruleView(rule: Rule) {
  const params =
    rule.type === 'AMOUNT_THRESHOLD' || rule.type === 'DAILY_AMOUNT'
      ? { amount: formatMinor(rule.thresholdMinor, rule.currency), currency: rule.currency }
      : rule.type === 'DAILY_COUNT'
        ? { count: rule.count }
        : rule.type === 'VELOCITY'
          ? { count: rule.count, windowMinutes: rule.windowMinutes }
          : {};
  return {
    id: rule.id,
    name: rule.name,
    type: rule.type,
    flows: rule.flows,
    level: rule.level,
    enabled: rule.enabled,
    params,
    version: rule.version,
    createdAt: rule.createdAt.toISOString(),
    updatedAt: rule.updatedAt.toISOString(),
    updatedBy: rule.updatedBy,
  };
}

/** An audit snapshot in the API's shape (money as a decimal string). */
function snapshotView(rule: Record<string, unknown>) {
  const { thresholdMinor, currency, count, windowMinutes, createdAt: _c, updatedAt: _u, ...rest } = rule;
  const params: Record<string, unknown> = {};
  if (typeof thresholdMinor === 'string' && typeof currency === 'string') {
    params.amount = formatMinor(BigInt(thresholdMinor), currencyCode(currency));
    params.currency = currency;
  }
  if (count !== undefined) params.count = count;
  if (windowMinutes !== undefined) params.windowMinutes = windowMinutes;
  return { ...rest, params };
}

function blacklistView(entry: BlacklistEntry) {
  return { ...entry, createdAt: entry.createdAt.toISOString(), removedAt: entry.removedAt?.toISOString() ?? null };
}

export function decisionView(d: Decision) {
  return {
    decisionId: d.id,
    flow: d.flow,
    subjectKind: d.subjectKind,
    subjectId: d.subjectId,
    amount: formatMinor(d.amountMinor, d.currency),
    currency: d.currency,
    reference: d.reference,
    level: d.level,
    firedRules: d.firedRules,
    verification: d.verification,
    inputs: d.inputs,
    review: d.review === null ? null : { ...d.review, reviewedAt: d.review.reviewedAt?.toISOString() ?? null },
    counted: d.level !== 'REJECT' && d.releasedAt === null,
    releasedAt: d.releasedAt?.toISOString() ?? null,
    createdAt: d.createdAt.toISOString(),
  };
}

/** The API's rule body to the service's: money as minor units of the named currency; missing parameters left for validation. */
function ruleInput(body: s.RuleBodyType): RuleInput {
  const p = body.params ?? {};
  const missing = (name: string) => new DomainError('VALIDATION_FAILED', `A ${body.type} rule needs params.${name}`, { errors: [{ path: `/body/params/${name}`, message: 'is required' }] });
  let params: RuleParams;
  switch (body.type) {
    case 'AMOUNT_THRESHOLD':
    case 'DAILY_AMOUNT': {
      if (p.currency === undefined) throw missing('currency');
      if (p.amount === undefined) throw missing('amount');
      const currency = currencyCode(p.currency);
      params = { type: body.type, currency, thresholdMinor: parseMoney(p.amount, currency).amountMinor };
      break;
    }
    case 'DAILY_COUNT':
      if (p.count === undefined) throw missing('count');
      params = { type: body.type, count: p.count };
      break;
    case 'VELOCITY':
      if (p.count === undefined) throw missing('count');
      if (p.windowMinutes === undefined) throw missing('windowMinutes');
      params = { type: body.type, count: p.count, windowMinutes: p.windowMinutes };
      break;
    case 'NEW_BENEFICIARY':
      params = { type: body.type };
      break;
    default:
      throw new DomainError('VALIDATION_FAILED', `Unknown rule type ${String(body.type)}`);
  }
  return { name: body.name, flows: body.flows, level: body.level, ...(body.enabled !== undefined ? { enabled: body.enabled } : {}), params };
}

function actorOf(request: FastifyRequest): string {
  return request.admin ? `${request.admin.kind}:${request.admin.id}` : 'unknown';
}

/** Admin: blacklists, rules, decisions and manual reviews. Internal (/l/): assess and release for callers in other processes. */
export function riskHttpModule(risk: RiskService): HttpModule {
  return {
    name: 'risk',
    register(app) {
      const guarded = { preHandler: app.requireAdmin };
      const tags = ['risk (admin)'];
      const admin = { tags, security: adminSecurity };

      // ---- blacklist
      app.get(
        '/admin/risk/blacklist',
        { ...guarded, schema: { ...admin, summary: 'Active blacklist entries, oldest first', querystring: s.BlacklistQuery, response: { 200: s.BlacklistPage, ...problems } } },
        async (request) => {
          const page = await risk.listBlacklist(request.query);
          return { data: page.data.map(blacklistView), hasMore: page.hasMore };
        },
      );
      app.post(
        '/admin/risk/blacklist',
        {
          ...guarded,
          schema: {
            ...admin,
            summary: 'Blacklist a user, merchant, ID number, card or beneficiary account: its requests are rejected at once',
            description: '201 with the new entry; 200 with the existing one when the same kind and value is already listed (safe to retry).',
            body: s.BlacklistBody,
            response: { 200: s.BlacklistView, 201: s.BlacklistView, ...problems },
          },
        },
        async (request, reply) => {
          const { entry, created } = await risk.addToBlacklist(request.body, actorOf(request));
          return reply.code(created ? 201 : 200).send(blacklistView(entry));
        },
      );
      app.delete(
        '/admin/risk/blacklist/:id',
        { ...guarded, schema: { ...admin, summary: 'Remove an entry (kept in history with who and when); again: 204', params: s.IdParams, response: { 204: { type: 'null' }, ...problems } } },
        async (request, reply) => {
          await risk.removeFromBlacklist(request.params.id, actorOf(request));
          return reply.code(204).send(null);
        },
      );

      // ---- rules
      app.get(
        '/admin/risk/rules',
        { ...guarded, schema: { ...admin, summary: 'Risk rules (of one flow with `flow`)', querystring: s.RulesQuery, response: { 200: s.RuleList, ...problems } } },
        async (request) => ({ data: (await risk.listRules(request.query.flow)).map(ruleView) }),
      );
      app.get(
        '/admin/risk/rules/:id',
        { ...guarded, schema: { ...admin, summary: 'One risk rule', params: s.IdParams, response: { 200: s.RuleView, ...problems } } },
        async (request) => ruleView(await risk.getRule(request.params.id)),
      );
      app.get(
        '/admin/risk/rules/:id/history',
        { ...guarded, schema: { ...admin, summary: 'Who changed the rule, when, and how it then was (oldest first; kept after deletion)', params: s.IdParams, response: { 200: s.RuleHistory, ...problems } } },
        async (request) => ({
          data: (await risk.ruleHistory(request.params.id)).map((c) => ({ version: c.version, action: c.action, actor: c.actor, at: c.createdAt.toISOString(), rule: snapshotView(c.rule) })),
        }),
      );
      app.post(
        '/admin/risk/rules',
        { ...guarded, schema: { ...admin, summary: 'Add a risk rule', body: s.RuleBody, response: { 201: s.RuleView, ...problems } } },
        async (request, reply) => reply.code(201).send(ruleView(await risk.createRule(ruleInput(request.body), actorOf(request)))),
      );
      app.put(
        '/admin/risk/rules/:id',
        { ...guarded, schema: { ...admin, summary: 'Replace a risk rule (its version grows by one)', params: s.IdParams, body: s.RuleUpdateBody, response: { 200: s.RuleView, ...problems } } },
        async (request) => {
          const { version, ...body } = request.body;
          return ruleView(await risk.updateRule(request.params.id, ruleInput(body), actorOf(request), version));
        },
      );
      app.delete(
        '/admin/risk/rules/:id',
        { ...guarded, schema: { ...admin, summary: 'Delete a risk rule (decisions keep their snapshot of it)', params: s.IdParams, response: { 204: { type: 'null' }, ...problems } } },
        async (request, reply) => {
          await risk.deleteRule(request.params.id, actorOf(request));
          return reply.code(204).send(null);
        },
      );

      // ---- decisions and reviews
      app.get(
        '/admin/risk/decisions',
        { ...guarded, schema: { ...admin, summary: 'Risk decisions, newest first, with the rules that fired', querystring: s.DecisionsQuery, response: { 200: s.DecisionPage, ...problems } } },
        async (request) => {
          const page = await risk.listDecisions(request.query);
          return { data: page.data.map(decisionView), hasMore: page.hasMore };
        },
      );
      app.get(
        '/admin/risk/decisions/:decisionId',
        { ...guarded, schema: { ...admin, summary: 'One risk decision', params: s.DecisionParams, response: { 200: s.DecisionView, ...problems } } },
        async (request) => decisionView(await risk.getDecision(request.params.decisionId)),
      );
      app.get(
        '/admin/risk/reviews',
        { ...guarded, schema: { ...admin, summary: 'HIGH decisions by review status (PENDING by default), oldest first', querystring: s.ReviewsQuery, response: { 200: s.DecisionPage, ...problems } } },
        async (request) => {
          const page = await risk.listReviews(request.query);
          return { data: page.data.map(decisionView), hasMore: page.hasMore };
        },
      );
      for (const [action, outcome] of [['approve', 'APPROVED'], ['reject', 'REJECTED']] as const) {
        app.post(
          `/admin/risk/reviews/:decisionId/${action}`,
          {
            ...guarded,
            schema: {
              ...admin,
              summary: `${action === 'approve' ? 'Approve' : 'Reject'} a HIGH decision (one final answer; publishes risk.reviewed)`,
              description: 'The same answer again returns the decision unchanged; the other answer afterwards: 409 RISK_REVIEW_ALREADY_DECIDED. Not a HIGH decision: 409 RISK_NOT_UNDER_REVIEW.',
              params: s.DecisionParams,
              body: s.ReviewBody,
              response: { 200: s.DecisionView, ...problems },
            },
          },
          async (request) => decisionView(await risk.review(request.params.decisionId, outcome, { reviewer: actorOf(request), note: request.body.note })),
        );
      }

      // ---- internal: for callers in other processes holding the admin credential
      const internalTags = ['risk (internal)'];
      app.post(
        '/l/risk/assessments',
        {
          ...guarded,
          schema: {
            tags: internalTags,
            security: adminSecurity,
            summary: 'Assess one money request and record the decision',
            body: s.AssessBody,
            response: { 201: s.AssessmentView, ...problems },
          },
        },
        async (request, reply) => {
          const { amount, currency, ...rest } = request.body;
          const code = currencyCode(currency);
          const assessment = await risk.assess({ ...rest, currency: code, amountMinor: parseMoney(amount, code).amountMinor });
          return reply.code(201).send(assessment);
        },
      );
      app.post(
        '/l/risk/decisions/:decisionId/release',
        {
          ...guarded,
          schema: {
            tags: internalTags,
            security: adminSecurity,
            summary: 'Take a decision out of the daily and velocity figures (its money request failed or was cancelled); safe to repeat',
            params: s.DecisionParams,
            response: { 200: s.DecisionView, ...problems },
          },
        },
        async (request) => decisionView(await risk.release(request.params.decisionId)),
      );
    },
  };
}
