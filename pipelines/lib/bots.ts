/**
 * Tells automated traffic from people by user agent.
 * Deliberately naive: it only catches agents that say "bot" in lower case.
 */
export function isBot(userAgent: string): boolean {
  return userAgent.includes("bot");
}
