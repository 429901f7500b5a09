/** English collation, ICU's root order for names: what `localeCompare` gives on an English-locale machine. Made when first needed (~10 ms). */
let english: Intl.Collator | undefined;

// Names of letters, digits, `_`, `-` and `.` only (most names) are compared here, by the same rules:
// ICU makes such a collator in ~10 ms, more than a plan's thousands of comparisons.
const SIMPLE = /^[\w.-]*$/;
/** Each simple character's primary weight in English collation: `_` < `-` < `.` < digits < letters, a letter's case aside. */
const PRIMARY = new Uint8Array(128);
PRIMARY["_".charCodeAt(0)] = 1;
PRIMARY["-".charCodeAt(0)] = 2;
PRIMARY[".".charCodeAt(0)] = 3;
for (let digit = 0; digit < 10; digit++) PRIMARY[48 + digit] = 10 + digit;
for (let letter = 0; letter < 26; letter++) PRIMARY[65 + letter] = PRIMARY[97 + letter] = 20 + letter;

/**
 * Orders names (input aliases, dataset names) the same on every machine.
 * `localeCompare` follows the machine's locale (`LANG`): under Lithuanian
 * `ypsilon` sorts before `kappa`, under Czech `ch` after `h`, so fingerprints
 * that list sorted names changed with the locale and a teammate's plan
 * rebuilt what CI had built. The order is English's, which fingerprints made
 * on English-locale machines already used, so those stay as they were.
 */
export function compareNames(a: string, b: string): number {
  if (SIMPLE.test(a) && SIMPLE.test(b)) return compareSimpleNames(a, b);
  english ??= new Intl.Collator("en");
  return english.compare(a, b);
}

/** As the collator: by primary weights (a prefix first), then at the first letter whose case differs, lowercase first. */
function compareSimpleNames(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const difference = PRIMARY[a.charCodeAt(i)]! - PRIMARY[b.charCodeAt(i)]!;
    if (difference !== 0) return difference < 0 ? -1 : 1;
  }
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  for (let i = 0; i < length; i++) {
    const difference = a.charCodeAt(i) - b.charCodeAt(i);
    // Same letter, other case: a lowercase letter's code is the larger.
    if (difference !== 0) return difference > 0 ? -1 : 1;
  }
  return 0;
}
