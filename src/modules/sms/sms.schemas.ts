import { Type } from 'typebox';

export const SinkQuery = Type.Object(
  {
    mobile: Type.Optional(Type.String({ maxLength: 32, description: 'Only messages to this phone number' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
    startingAfter: Type.Optional(Type.String({ maxLength: 64, description: 'The last id of the previous page' })),
  },
  { additionalProperties: false },
);

export const SinkMessageView = Type.Object({
  id: Type.String(),
  challengeId: Type.Union([Type.String(), Type.Null()]),
  purpose: Type.Union([Type.String(), Type.Null()]),
  mobile: Type.String(),
  text: Type.String({ description: 'The message as sent, code included' }),
  createdAt: Type.String({ format: 'date-time' }),
});

export const SinkPage = Type.Object({ data: Type.Array(SinkMessageView), hasMore: Type.Boolean() });

export const SendCodeBody = Type.Object(
  {
    purpose: Type.String({ maxLength: 32, description: 'What the code authorises, e.g. WITHDRAW', examples: ['WITHDRAW'] }),
    subjectId: Type.String({ maxLength: 64, description: 'The user or merchant the code is for' }),
    mobile: Type.String({ maxLength: 32 }),
  },
  { additionalProperties: false },
);

export const SentCodeView = Type.Object({ challengeId: Type.String(), expiresAt: Type.String({ format: 'date-time' }) });

export const ChallengeParams = Type.Object({ challengeId: Type.String({ maxLength: 64 }) });

export const VerifyCodeBody = Type.Object(
  {
    code: Type.String({ maxLength: 16 }),
    purpose: Type.String({ maxLength: 32 }),
    subjectId: Type.String({ maxLength: 64 }),
  },
  { additionalProperties: false },
);

export const VerifiedView = Type.Object({ challengeId: Type.String(), verified: Type.Literal(true), verifiedAt: Type.String({ format: 'date-time' }) });
