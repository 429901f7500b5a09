import type { CategoryFlags } from "@reflow/api";

/** What `--breaking`, `--non-breaking`, `--forward-only` and `--from` parse to (commander's option names). */
export interface CategoryOptions {
  readonly breaking?: readonly string[];
  readonly nonBreaking?: readonly string[];
  readonly forwardOnly?: readonly string[];
  readonly from?: string;
}

/** The flags given, leaving out empty lists: a plan saved without any records none. */
export function categoryFlagsOf(options: CategoryOptions): CategoryFlags {
  return {
    ...(options.breaking?.length ? { breaking: options.breaking } : {}),
    ...(options.nonBreaking?.length ? { nonBreaking: options.nonBreaking } : {}),
    ...(options.forwardOnly?.length ? { forwardOnly: options.forwardOnly } : {}),
    ...(options.from !== undefined ? { from: options.from } : {}),
  };
}
