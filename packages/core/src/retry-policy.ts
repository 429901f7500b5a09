/** How a failing partition build is retried (`retries` on a dataset, or in reflow.yaml for every dataset). */
export interface RetryPolicy {
  /** Attempts in all, the first included: 1 means no retry. */
  readonly attempts: number;
  readonly backoff: "exponential" | "fixed";
  /** Wait before the second attempt; exponential backoff doubles it for each attempt after. */
  readonly initialDelayMs: number;
  /** Upper bound of any one wait. */
  readonly maxDelayMs: number;
}

export const NO_RETRIES: RetryPolicy = Object.freeze({ attempts: 1, backoff: "exponential", initialDelayMs: 500, maxDelayMs: 60_000 });

/** The wait before attempt `next` (2 for the first retry). */
export function retryDelayMs(policy: RetryPolicy, next: number): number {
  const delay = policy.backoff === "fixed" ? policy.initialDelayMs : policy.initialDelayMs * 2 ** (next - 2);
  return Math.min(delay, policy.maxDelayMs);
}

/** A problem a retry cannot fix (bad credentials, a malformed file): thrown from a transform, it is not retried. */
export class PermanentError extends Error {
  readonly permanent = true;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PermanentError";
  }
}

/** Anything thrown with `permanent: true`, a `PermanentError` or not. */
export function isPermanentError(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { permanent?: unknown }).permanent === true;
}

/** Why a retry policy is invalid, or undefined if it is valid. Fields absent are allowed (they take defaults). */
export function retryPolicyProblem(policy: Partial<RetryPolicy>): string | undefined {
  if (typeof policy !== "object" || policy === null) return "retries must be an object like { attempts: 3 }";
  const known = new Set(["attempts", "backoff", "initialDelayMs", "maxDelayMs"]);
  const unknown = Object.keys(policy).find((key) => !known.has(key));
  if (unknown) return `retries: unknown key "${unknown}" (expected attempts, backoff, initialDelayMs, maxDelayMs)`;
  if (policy.attempts !== undefined && (!Number.isInteger(policy.attempts) || policy.attempts < 1)) {
    return `retries.attempts must be a whole number of at least 1 (the first attempt included), got ${JSON.stringify(policy.attempts)}`;
  }
  if (policy.backoff !== undefined && policy.backoff !== "exponential" && policy.backoff !== "fixed") {
    return `retries.backoff must be "exponential" or "fixed", got ${JSON.stringify(policy.backoff)}`;
  }
  for (const key of ["initialDelayMs", "maxDelayMs"] as const) {
    const value = policy[key];
    if (value !== undefined && (typeof value !== "number" || !Number.isFinite(value) || value < 0)) return `retries.${key} must be a number of milliseconds >= 0, got ${JSON.stringify(value)}`;
  }
  return undefined;
}
