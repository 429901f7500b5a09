/** `--wait` of the commands that take the writer lock: alone, true (wait for ever); `--wait=SECONDS`, a number. */
export interface WaitOption {
  readonly wait?: boolean | number;
}

/** `--wait` as the API takes it; absent when not given. */
export function waitMs(options: WaitOption): { waitMs?: number } {
  return options.wait === undefined ? {} : { waitMs: options.wait === true ? Infinity : Number(options.wait) * 1000 };
}
