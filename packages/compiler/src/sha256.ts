import crypto from "node:crypto";

/**
 * Hex sha256 of a text (UTF-8). The one-shot `crypto.hash` (Node >= 20.12) is
 * about twice as fast as a Hash object for the short texts a compile hashes
 * several thousand times (two code hashes and a fingerprint per dataset); older
 * Node falls back to `createHash`, with the same digest.
 */
export const sha256: (text: string) => string =
  typeof crypto.hash === "function" ? (text) => crypto.hash("sha256", text, "hex") : (text) => crypto.createHash("sha256").update(text).digest("hex");
