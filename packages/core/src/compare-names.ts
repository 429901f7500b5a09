/** English collation, ICU's root order for names: what `localeCompare` gives on an English-locale machine. */
const ENGLISH = new Intl.Collator("en");

/**
 * Orders names (input aliases, dataset names) the same on every machine.
 * `localeCompare` follows the machine's locale (`LANG`): under Lithuanian
 * `ypsilon` sorts before `kappa`, under Czech `ch` after `h`, so fingerprints
 * that list sorted names changed with the locale and a teammate's plan
 * rebuilt what CI had built. The order is English's, which fingerprints made
 * on English-locale machines already used, so those stay as they were.
 */
export function compareNames(a: string, b: string): number {
  return ENGLISH.compare(a, b);
}
