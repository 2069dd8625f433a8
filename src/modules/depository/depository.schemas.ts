import { Type, type Static } from 'typebox';

const Amount = Type.String({ description: 'Decimal string in the currency, e.g. "100.50"', examples: ['100.50'], maxLength: 40 });
const CallbackUrl = Type.String({ description: 'Where the bank sends the browser back', maxLength: 2048, examples: ['https://wallet.example/return'] });

export const GatewayRequestView = Type.Object(
  {
    serviceName: Type.Union([Type.Literal('PERSONAL_REGISTER'), Type.Literal('RECHARGE'), Type.Literal('WITHDRAW'), Type.Literal('BIND_CARD')]),
    platformNo: Type.String(),
    reqData: Type.String({ description: 'The JSON text the signature covers; post it unchanged' }),
    signature: Type.String({ description: 'base64(RSA-SHA256(reqData)) with the platform key' }),
    depositoryUrl: Type.String({ description: "The bank's gateway: post the other four fields there as a form" }),
  },
  { description: 'A signed request for the browser to post to the bank depository (SPEC 4)' },
);

export const RechargeBody = Type.Object(
  {
    userNo: Type.String({ minLength: 1, maxLength: 64 }),
    amount: Amount,
    currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' })),
    callbackUrl: CallbackUrl,
  },
  { additionalProperties: false },
);
export type RechargeBody = Static<typeof RechargeBody>;

export const WithdrawBody = Type.Object(
  {
    userNo: Type.String({ minLength: 1, maxLength: 64 }),
    amount: Type.String({ description: 'What leaves the virtual account, fee included', maxLength: 40 }),
    fee: Type.Optional(Type.String({ description: 'Kept back from what reaches the card; WITHDRAW_FEE by default', maxLength: 40 })),
    currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' })),
    callbackUrl: CallbackUrl,
    cardNumberMasked: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type WithdrawBody = Static<typeof WithdrawBody>;

/** Every field optional here, so a missing one gets the gateway's own error (e.g. INVALID_SIGNATURE). */
export const GatewayQuery = Type.Object({
  serviceName: Type.Optional(Type.String({ maxLength: 64 })),
  platformNo: Type.Optional(Type.String({ maxLength: 128 })),
  signature: Type.Optional(Type.String({ maxLength: 4096 })),
  reqData: Type.Optional(Type.String({ maxLength: 16384 })),
});
