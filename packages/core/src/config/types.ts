import type { GrayRequest } from '../rules/types.js';

/**
 * The configuration document (what users write, JSON) and the compiled form graylane evaluates.
 * The JSON Schema in `schema/graylane.schema.json` describes the document.
 */

/** A matcher on one string value. Exactly one operator per matcher. */
export type MatcherDocument =
  | { readonly equals: string }
  | { readonly in: readonly string[] }
  | { readonly prefix: string }
  | { readonly suffix: string }
  | { readonly regex: string }
  | { readonly exists: boolean };

/** The operators a matcher can use. */
export type MatcherOperator = 'equals' | 'in' | 'prefix' | 'suffix' | 'regex' | 'exists';

/** Conditions of a rule. All present conditions must hold. */
export interface MatchDocument {
  /** Request headers by name (case-insensitive names). */
  readonly header?: Readonly<Record<string, MatcherDocument>>;
  /** Cookies by name (case-sensitive). */
  readonly cookie?: Readonly<Record<string, MatcherDocument>>;
  /** Query parameters by name (case-sensitive). */
  readonly query?: Readonly<Record<string, MatcherDocument>>;
  /** Caller-supplied attributes such as `userId` (case-sensitive). */
  readonly attrs?: Readonly<Record<string, MatcherDocument>>;
  readonly path?: MatcherDocument;
  readonly host?: MatcherDocument;
  readonly method?: MatcherDocument;
}

/** One arm of a weighted split. */
export interface SplitArmDocument {
  readonly version: string;
  /** Integer; all arms sum to exactly 100 (percent) or 10000 (basis points). */
  readonly weight: number;
}

/** A half-open `[from, until)` window of RFC 3339 instants with an explicit offset. */
export interface WindowDocument {
  readonly from?: string;
  readonly until?: string;
}

/** One step of a scheduled ramp: from `at` (inclusive) until the next step's `at`, this split. */
export interface ScheduleStepDocument {
  /** RFC 3339 instant with an explicit offset. Steps are strictly increasing. */
  readonly at: string;
  /** The same versions, in the same order, as the rule's `split`; new weights. */
  readonly split: readonly SplitArmDocument[];
}

/** One rule. It has either `version` or `split` (+ `bucketBy`). */
export interface RuleDocument {
  readonly id: string;
  readonly description?: string;
  /** `false` keeps the rule in the document but never evaluates it. Default `true`. */
  readonly enabled?: boolean;
  readonly match?: MatchDocument;
  readonly version?: string;
  readonly split?: readonly SplitArmDocument[];
  /**
   * `header:NAME`, `cookie:NAME`, `query:NAME` or `attr:NAME`, or a fallback chain of them
   * (`["attr:userId", "cookie:gray_uid"]`): the first present subject is hashed.
   */
  readonly bucketBy?: string | readonly string[];
  /** Hash salt; defaults to the rule id. Change it to reshuffle who lands where. */
  readonly salt?: string;
  /** Integer ≥ 1, default 1 (today's hashes). Raise it to re-roll every assignment on purpose. */
  readonly bucketVersion?: number;
  /** Weight steps at UTC instants; `split` is in force before the first step. */
  readonly schedule?: readonly ScheduleStepDocument[];
  /** Freezes the schedule at the step in force at this instant (RFC 3339, with offset). */
  readonly pausedAt?: string;
  readonly window?: WindowDocument;
  /**
   * What a sticky version cookie naming a version this rule gives does after the rule changes
   * (STK-03): `keep` (default) — the cookie decides until it expires; `reevaluate` — the rules
   * decide again on every request and the cookie follows (a window that ended, a lowered weight).
   */
  readonly sticky?: StickyPolicy;
}

/** A rule's sticky policy (STK-03). */
export type StickyPolicy = 'keep' | 'reevaluate';

/** The configuration document. */
export interface ConfigDocument {
  readonly $schema?: string;
  /** The closed set of versions. Nothing outside it is ever produced. */
  readonly versions: readonly string[];
  /** The version served when nothing else applies. Must be in `versions`. */
  readonly default: string;
  /** Accept `BETA` as `beta` in markers. Default `false`: markers are case-sensitive. */
  readonly caseInsensitive?: boolean;
  /** Ordered; the first matching rule wins. */
  readonly rules?: readonly RuleDocument[];
}

/** Where a weighted split reads its subject from. */
export interface BucketBy {
  readonly kind: 'header' | 'cookie' | 'query' | 'attr';
  readonly name: string;
}

/** A compiled matcher: a predicate plus a description for explanations. */
export interface CompiledMatcher {
  readonly op: MatcherOperator;
  readonly describe: string;
  readonly test: (value: string | undefined) => boolean;
}

/** A compiled condition: which request value, and the matcher applied to it. */
export interface CompiledCondition {
  readonly kind: 'header' | 'cookie' | 'query' | 'attr' | 'path' | 'host' | 'method';
  /** The key for header/cookie/query/attr; header names are lower-cased. */
  readonly name: string | undefined;
  readonly matcher: CompiledMatcher;
  /** Reads the tested value from a request (built once at compile time). */
  readonly read: (request: GrayRequest) => string | undefined;
  /**
   * @internal The index of this condition's value in a request's read cache: conditions of any
   * rule that read the same value share one (assigned when the config is compiled).
   */
  readonly slot?: number | undefined;
}

/** A weighted arm with its cumulative upper bound in basis points (exclusive). */
export interface CompiledArm {
  readonly version: string;
  readonly end: number;
}

/** A compiled schedule step: from `at` (epoch ms, inclusive) until the next step, `arms`. */
export interface CompiledStep {
  readonly at: number;
  readonly arms: readonly CompiledArm[];
}

/** A compiled rule. */
export type CompiledRule = {
  readonly id: string;
  readonly conditions: readonly CompiledCondition[];
  /** Epoch milliseconds, inclusive. */
  readonly from: number | undefined;
  /** Epoch milliseconds, exclusive. */
  readonly until: number | undefined;
  /** STK-03; absent means `keep`. */
  readonly sticky?: StickyPolicy;
} & (
  | { readonly kind: 'version'; readonly version: string }
  | {
      readonly kind: 'split';
      /** The split before the first schedule step (the whole split without a schedule). */
      readonly arms: readonly CompiledArm[];
      /** The first subject of the chain (kept for readers that know one subject only). */
      readonly bucketBy: BucketBy;
      /** The whole fallback chain, in order; `bucketChain[0]` is `bucketBy`. */
      readonly bucketChain: readonly BucketBy[];
      /** The hash salt in use: the rule's salt, with `/v<n>` appended when `bucketVersion` > 1. */
      readonly salt: string;
      /** Strictly increasing steps; empty without a schedule. */
      readonly schedule: readonly CompiledStep[];
      /** Epoch ms; the schedule is read at `min(now, pausedAt)`. */
      readonly pausedAt: number | undefined;
    }
);

/**
 * A validated, compiled, immutable configuration. Build it with `parseConfig`.
 */
export interface GrayConfig {
  /** Brand, so a parsed config can be told apart from a raw document at run time. */
  readonly kind: 'graylane.config';
  readonly versions: readonly string[];
  readonly default: string;
  readonly caseInsensitive: boolean;
  readonly rules: readonly CompiledRule[];
  /**
   * The document in its normal form: defaults left out (`$schema`, `caseInsensitive: false`,
   * `enabled: true`, …), header names lower-case, instants in UTC, `in` lists sorted; disabled
   * rules, descriptions and rule order kept. A valid document with the same meaning.
   */
  readonly document: ConfigDocument;
  /**
   * Canonical JSON of `document`: equal strings mean configs that decide alike, however they
   * were spelled (RELIABILITY I6). What the store compares and the backup holds.
   */
  readonly canonical: string;
  /** A short hash of `canonical`, for logs and response stamps. */
  readonly hash: string;
  /** True when `version` is one of `versions`. Never uses `in` (I2). */
  hasVersion(version: string): boolean;
}
