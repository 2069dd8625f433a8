import { Type } from 'typebox';
import { blacklistKinds, flows, raisedLevels, reviewStatuses, riskLevels, ruleTypes, subjectKinds, verificationSteps } from './risk.types.ts';

const literals = <const T extends string[]>(values: readonly [...T], description?: string) =>
  Type.Enum(values, description ? { description } : {});

const Flow = literals(flows);
const Level = literals(riskLevels);
const RaisedLevel = literals(raisedLevels, 'The level the rule raises a request to when it fires');
const Amount = Type.String({ maxLength: 40, description: 'A decimal string in the currency, e.g. "5000.00"', examples: ['5000.00'] });
const Currency = Type.String({ minLength: 3, maxLength: 3, examples: ['CNY'] });
const Time = Type.String({ format: 'date-time' });
const NullableTime = Type.Union([Time, Type.Null()]);
const Cursor = Type.Optional(Type.String({ maxLength: 64, description: 'The last id of the previous page' }));
const Limit = Type.Optional(Type.Integer({ minimum: 1, maximum: 200 }));

// ---- rules

export const RuleParamsBody = Type.Object(
  {
    amount: Type.Optional(Amount),
    currency: Type.Optional(Currency),
    count: Type.Optional(Type.Integer({ description: 'DAILY_COUNT, VELOCITY: requests (this one included) that fire the rule' })),
    windowMinutes: Type.Optional(Type.Integer({ description: 'VELOCITY: the window' })),
  },
  {
    additionalProperties: false,
    description:
      'AMOUNT_THRESHOLD and DAILY_AMOUNT: `amount` + `currency` (fires at amount >= threshold); DAILY_COUNT: `count`; VELOCITY: `count` + `windowMinutes`; NEW_BENEFICIARY: none',
  },
);

export const RuleBody = Type.Object(
  {
    name: Type.String({ maxLength: 100 }),
    type: literals(ruleTypes),
    flows: Type.Array(Flow, { minItems: 1, maxItems: 2 }),
    level: RaisedLevel,
    enabled: Type.Optional(Type.Boolean({ default: true })),
    params: Type.Optional(RuleParamsBody),
  },
  { additionalProperties: false },
);

export const RuleUpdateBody = Type.Object(
  {
    name: Type.String({ maxLength: 100 }),
    type: literals(ruleTypes),
    flows: Type.Array(Flow, { minItems: 1, maxItems: 2 }),
    level: RaisedLevel,
    enabled: Type.Optional(Type.Boolean({ default: true })),
    params: Type.Optional(RuleParamsBody),
    version: Type.Optional(Type.Integer({ minimum: 1, description: 'The version you edited; a newer one in the database answers 409 RISK_RULE_VERSION_CONFLICT' })),
  },
  { additionalProperties: false },
);

export const RuleView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  type: literals(ruleTypes),
  flows: Type.Array(Flow),
  level: RaisedLevel,
  enabled: Type.Boolean(),
  params: Type.Object({
    amount: Type.Optional(Type.String()),
    currency: Type.Optional(Type.String()),
    count: Type.Optional(Type.Integer()),
    windowMinutes: Type.Optional(Type.Integer()),
  }),
  version: Type.Integer(),
  createdAt: Time,
  updatedAt: Time,
  updatedBy: Type.String(),
});

export const RuleList = Type.Object({ data: Type.Array(RuleView) });
export const RuleHistory = Type.Object({
  data: Type.Array(
    Type.Object({
      version: Type.Integer(),
      action: literals(['CREATED', 'UPDATED', 'DELETED']),
      actor: Type.String(),
      at: Time,
      rule: Type.Record(Type.String(), Type.Unknown(), { description: 'The rule as it was after the change (before it, for a deletion)' }),
    }),
  ),
});
export const RulesQuery = Type.Object({ flow: Type.Optional(Flow) }, { additionalProperties: false });
export const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

// ---- blacklist

export const BlacklistBody = Type.Object(
  {
    kind: literals(blacklistKinds),
    value: Type.String({ maxLength: 64, description: 'A user or merchant id, or an ID, card or account number (spaces and dashes ignored)' }),
    reason: Type.String({ maxLength: 500 }),
  },
  { additionalProperties: false },
);

export const BlacklistView = Type.Object({
  id: Type.String(),
  kind: literals(blacklistKinds),
  value: Type.String(),
  reason: Type.String(),
  createdBy: Type.String(),
  createdAt: Time,
  removedBy: Type.Union([Type.String(), Type.Null()]),
  removedAt: NullableTime,
});

export const BlacklistPage = Type.Object({ data: Type.Array(BlacklistView), hasMore: Type.Boolean() });
export const BlacklistQuery = Type.Object(
  { kind: Type.Optional(literals(blacklistKinds)), value: Type.Optional(Type.String({ maxLength: 64 })), limit: Limit, startingAfter: Cursor },
  { additionalProperties: false },
);

// ---- decisions and reviews

export const FiredRuleView = Type.Object({
  ruleId: Type.Union([Type.String(), Type.Null()]),
  name: Type.String(),
  type: Type.String(),
  level: RaisedLevel,
  version: Type.Union([Type.Integer(), Type.Null()]),
  detail: Type.String(),
});

const Verification = Type.Array(literals(verificationSteps), {
  description: 'LOW: TRANSACTION_PASSWORD; MEDIUM: + SMS_CODE; HIGH: + MANUAL_REVIEW; REJECT: [] (refused)',
});

export const AssessmentView = Type.Object({
  decisionId: Type.String(),
  level: Level,
  firedRules: Type.Array(FiredRuleView),
  verification: Verification,
});

export const DecisionView = Type.Object({
  decisionId: Type.String(),
  flow: Flow,
  subjectKind: literals(subjectKinds),
  subjectId: Type.String(),
  amount: Type.String(),
  currency: Type.String(),
  reference: Type.String(),
  level: Level,
  firedRules: Type.Array(FiredRuleView),
  verification: Verification,
  inputs: Type.Record(Type.String(), Type.Union([Type.String(), Type.Null()])),
  review: Type.Union([
    Type.Object({ status: literals(reviewStatuses), reviewedBy: Type.Union([Type.String(), Type.Null()]), note: Type.Union([Type.String(), Type.Null()]), reviewedAt: NullableTime }),
    Type.Null(),
  ]),
  counted: Type.Boolean({ description: 'Whether it counts in the daily and velocity figures (not rejected, not released)' }),
  releasedAt: NullableTime,
  createdAt: Time,
});

export const DecisionPage = Type.Object({ data: Type.Array(DecisionView), hasMore: Type.Boolean() });
export const DecisionsQuery = Type.Object(
  { subjectId: Type.Optional(Type.String({ maxLength: 64 })), subjectKind: Type.Optional(literals(subjectKinds)), level: Type.Optional(Level), limit: Limit, startingAfter: Cursor },
  { additionalProperties: false },
);
export const ReviewsQuery = Type.Object({ status: Type.Optional(literals(reviewStatuses)), limit: Limit, startingAfter: Cursor }, { additionalProperties: false });
export const DecisionParams = Type.Object({ decisionId: Type.String({ maxLength: 64 }) });
export const ReviewBody = Type.Object({ note: Type.String({ maxLength: 500 }) }, { additionalProperties: false });

export const AssessBody = Type.Object(
  {
    flow: Flow,
    subjectKind: literals(subjectKinds),
    subjectId: Type.String({ maxLength: 64 }),
    amount: Amount,
    currency: Currency,
    idNumber: Type.Optional(Type.String({ maxLength: 64 })),
    card: Type.Optional(Type.String({ maxLength: 64 })),
    beneficiaryAccount: Type.Optional(Type.String({ maxLength: 64 })),
    reference: Type.String({ maxLength: 128 }),
  },
  { additionalProperties: false },
);

export type RuleBodyType = import('typebox').Static<typeof RuleBody>;
