/** The stdout backend has no settings of its own. */
export type StdoutConfig = Record<string, never>;
