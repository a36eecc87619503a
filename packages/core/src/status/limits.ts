/**
 * Limits of the status page, each a named constant so the page's cost is bounded whatever the
 * counters, sources or reload history hold (RELIABILITY I4).
 */

/** Where the page is served unless `path` says otherwise; the JSON is `${path}/status.json`. */
export const STATUS_DEFAULT_PATH = '/graylane/status';
/** Appended to `path` for the machine-readable report. */
export const STATUS_JSON_SUFFIX = '/status.json';
/** Reload entries kept by default (newest first). */
export const STATUS_HISTORY_DEFAULT = 20;
/** The most reload entries an option may ask for: the page stays small. */
export const STATUS_HISTORY_MAX = 200;
/** Free-form strings (source names, errors, call sites) are cut to this many characters. */
export const STATUS_MAX_TEXT = 200;
/** Rows per table (decisions, invalid markers, fallbacks, destinations, sources). */
export const STATUS_MAX_ROWS = 500;
/** Rule ids listed per added / removed / modified list of one reload; the rest are counted. */
export const STATUS_MAX_RULE_IDS = 50;
/** Problems (a throwing stats or sources callback) listed per report. */
export const STATUS_MAX_PROBLEMS = 10;
/** How often the page polls its JSON, by default. */
export const STATUS_POLL_DEFAULT_MS = 2000;
/** Poll interval bounds: no tighter than twice a second, no looser than a minute. */
export const STATUS_POLL_MIN_MS = 500;
export const STATUS_POLL_MAX_MS = 60_000;
/** Bearer tokens shorter than this are refused at construction (use 32 random bytes). */
export const STATUS_MIN_TOKEN_LENGTH = 16;
/** Longer tokens are refused at construction; longer `Authorization` values are not compared. */
export const STATUS_MAX_TOKEN_LENGTH = 512;
/** Samples the live chart keeps (one per poll). */
export const STATUS_CHART_SAMPLES = 60;
