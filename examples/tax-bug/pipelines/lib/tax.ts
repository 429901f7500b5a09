/** VAT rates by country, as fractions. */
export const VAT_RATES: Readonly<Record<string, number>> = { DE: 0.19, FR: 0.2, NL: 0.21 };

/**
 * The net amount of a gross price that includes VAT.
 * BUG (the scenario): it subtracts the rate from the gross amount instead of dividing by 1 + rate.
 */
export function netOfTax(grossCents: number, country: string): number {
  const rate = VAT_RATES[country] ?? 0;
  return Math.round(grossCents * (1 - rate));
}

/** Formats cents for reports; not used by any transform, so editing it changes nothing. */
export function formatCents(cents: number): string {
  return `€${(cents / 100).toFixed(2)}`;
}
