/** Card numbers: checked (Luhn), sealed at rest, only ever shown masked. */
import { DomainError } from '../../platform/errors.ts';

/** Seals a secret under a key outside the database (the merchants module's SecretBox fits). */
export interface Sealer {
  seal(plaintext: string, boundTo: string): string;
  open(sealed: string, boundTo: string): string | undefined;
}

/** The Luhn (mod 10) check every payment card number passes. */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Spaces and dashes dropped; 12-19 digits passing Luhn, or CARD_NUMBER_INVALID. */
export function normalizeCardNumber(input: string): string {
  const digits = input.replace(/[\s-]/g, '');
  if (!/^\d{12,19}$/.test(digits) || !luhnValid(digits)) {
    throw new DomainError('CARD_NUMBER_INVALID', 'The card number must be 12-19 digits and pass the Luhn check');
  }
  return digits;
}

export function maskCardNumber(last4: string): string {
  return `**** **** **** ${last4}`;
}
