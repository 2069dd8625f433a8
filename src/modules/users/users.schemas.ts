import { Type, type Static } from 'typebox';

const Mobile = Type.String({
  description: 'A China mobile number (13800138000) or E.164 (+447700900123); +86 numbers are stored in the 11-digit form',
  examples: ['13800138000'],
  maxLength: 32,
});
const Password = Type.String({
  description: '8-128 characters mixing at least two of lower case, upper case, digits and symbols (or 16+ characters)',
  maxLength: 1024,
});
const UserStatus = Type.Union([Type.Literal('ACTIVE'), Type.Literal('FROZEN')]);

export const RegisterBody = Type.Object({ mobile: Mobile, password: Password }, { additionalProperties: false });
export type RegisterBody = Static<typeof RegisterBody>;

export const RegisterResult = Type.Object({ userId: Type.String() });

export const LoginBody = Type.Object(
  {
    mobile: Type.String({ maxLength: 32 }),
    password: Type.String({ maxLength: 1024 }),
    cookie: Type.Optional(
      Type.Boolean({ description: 'Also set the session as an HttpOnly `coffer_session` cookie (for the web UI)' }),
    ),
  },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;

export const LoginResult = Type.Object({
  token: Type.String({ description: 'Send as `Authorization: Bearer <token>`' }),
  expiresAt: Type.String({ format: 'date-time' }),
});

export const ProfileView = Type.Object({ userId: Type.String(), mobile: Type.String(), status: UserStatus });

export const AdminUserView = Type.Object({
  userId: Type.String(),
  mobile: Type.String(),
  status: UserStatus,
  failedLogins: Type.Integer(),
  lockedUntil: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const AdminUserPage = Type.Object({ data: Type.Array(AdminUserView), hasMore: Type.Boolean() });

export const AdminUsersQuery = Type.Object(
  {
    mobile: Type.Optional(Type.String({ maxLength: 32, description: 'Exactly this mobile (any accepted form)' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
    startingAfter: Type.Optional(Type.String({ maxLength: 64, description: 'The last userId of the previous page' })),
  },
  { additionalProperties: false },
);

export const UserIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
