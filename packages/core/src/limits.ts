/**
 * Hard limits, each with the anchor it is derived from (see RELIABILITY.md).
 * They are applied before any decode, regex or allocation proportional to input.
 */

/** Version labels: `^[a-z][a-z0-9_-]{0,31}$`, so at most 32 bytes. */
export const MAX_VERSION_LENGTH = 32;
/** Raw header / cookie / query marker values longer than this are rejected unread (HDR-09). */
export const MAX_RAW_MARKER_BYTES = 64;
/** Signed markers (`version.exp.kid.sig`) get a larger, still bounded, budget (HDR-13). */
export const MAX_SIGNED_MARKER_BYTES = 256;
/** HMAC keys shorter than this are refused at construction (RFC 2104 §3: at least L/2 bytes). */
export const MIN_HMAC_KEY_BYTES = 16;
/** Subjects bound into a signed marker: bounded like bucketing subjects, well under the token budget. */
export const MAX_SIGNED_SUBJECT_LENGTH = 256;
/** W3C baggage / OTel `baggage/constants.ts`: total header size. */
export const BAGGAGE_MAX_TOTAL_LENGTH = 8192;
/** W3C baggage / OTel: members per header. */
export const BAGGAGE_MAX_MEMBERS = 180;
/** W3C baggage / OTel: bytes per member. */
export const BAGGAGE_MAX_MEMBER_LENGTH = 4096;
/** Config documents: under etcd's 1.5 MiB default request size. */
export const MAX_CONFIG_BYTES = 1_048_576; // 1024 * 1024, written out: smaller in bundles
/** Config JSON nesting depth. */
export const MAX_CONFIG_DEPTH = 32;
/** Rules per config. */
export const MAX_RULES = 1000;
/** Regex patterns longer than this are rejected at load (CFG-10). */
export const MAX_REGEX_PATTERN_LENGTH = 256;
/**
 * Regex programs larger than this once compiled (RE2 instructions) are rejected at load (CFG-10):
 * a counted repetition repeats its group (`(\w+\W+){1,200}` is 1,406 instructions in 26
 * characters), and a program's matches cost in proportion to its size — at 19,000 instructions
 * the first matches of a 256-character subject take 50–150 ms, adversarial ones up to 9 ms each.
 * Rules people write compile to under 150.
 */
export const MAX_REGEX_PROGRAM_SIZE = 1000;
/**
 * The regex programs of one document together, in RE2 instructions (RX-05): a request that
 * matches no rule runs every regex rule over its subject, in time proportional to the program
 * sizes times the subject's length (up to 256), so the sum bounds a request's regex work. At this
 * cap, on the 2-core CI machine under load, subjects built against the patterns cost up to about
 * 10 ms for rules such as `^/tenant-N/(orders|users)/[0-9]{1,12}$` and 0.2 s for patterns built
 * to be slow (`[ab]*a[ab]{20}…`); the subjects people send, microseconds. 500 rules of 10
 * instructions, or 33 of the 150 that rules people write compile to.
 */
export const MAX_REGEX_DOCUMENT_SIZE = 5000;
/**
 * Bytes (as re2js counts them) of lazily built matching state a regex program may keep per
 * instruction, 2 KiB (RX-05): re2js lets each program grow to 8 MiB of it, so hostile subjects sent
 * to many regex rules could hold gigabytes; past this it starts over or matches without the cache.
 */
export const REGEX_STATE_BYTES_PER_INSTRUCTION = 2048;
/**
 * Refused patterns an engine remembers, newest kept (RX-06): a source that polls the same rejected
 * document does not compile its patterns again. A document compiles only a few patterns past its
 * budget (`MAX_REGEX_DOCUMENT_SIZE`), so this holds the costly refusals of many; each entry is a
 * pattern of at most `MAX_REGEX_PATTERN_LENGTH` characters and its message.
 */
export const MAX_REGEX_REFUSALS_CACHED = 256;
/** Regex subjects longer than this never match, and the regex is not run (RX-02). */
export const MAX_REGEX_SUBJECT_LENGTH = 256;
/** Bucketing subjects longer than this are treated as absent (WT-05). */
export const MAX_SUBJECT_LENGTH = 1024;
/** Values in an `in` matcher list. */
export const MAX_IN_LIST = 1000;
/** Declared versions per config: bounds metric label cardinality (I2). */
export const MAX_VERSIONS = 16;
/** Basis points in a bucket range: buckets are `0 … 9999`. */
export const BUCKET_SPACE = 10_000;
/** Cookie lifetime cap: 30 days, well under the 400-day user-agent cap. */
export const MAX_COOKIE_MAX_AGE_SECONDS = 2_592_000; // 30 days: 30 * 24 * 60 * 60
/** Cookie header bytes scanned for the marker (RFC 6265 §6.1 minimums, generously). */
export const MAX_COOKIE_HEADER_BYTES = 16_384; // 16 KiB
/**
 * Cookie pairs scanned per request, parsed or not (AMP-01): Chrome and Firefox keep at most 180
 * cookies per domain (Chromium `kDomainMaxCookies`, Firefox `network.cookie.maxPerHost`), the
 * same figure as the baggage member cap. Pairs past it are not seen. The removal of marker
 * spellings (GW-02) judges every pair, but at most this many that could spell a marker name; from
 * the next such pair on the header goes unjudged (AMP-03).
 */
export const MAX_COOKIE_PAIRS = 180;
/** Query strings longer than this are not scanned for the marker (QS-06). */
export const MAX_QUERY_BYTES = 8_192; // 8 KiB
/**
 * Query parameters scanned per request, empty or not (AMP-01). Servers accept more (Node's
 * `querystring` `maxKeys` and `qs`'s `parameterLimit` are 1000), but graylane reads one marker
 * and a few rule parameters; past 256 the scan stops and later parameters are not seen.
 */
export const MAX_QUERY_PARAMS = 256;
/** First retry delay after a source failure: flagd / RELIABILITY FLT-03 "1 s, 2 s, 4 s …". */
export const BACKOFF_INITIAL_MS = 1_000;
/** Retry delays stop doubling here: flagd `maxSyncRetryInterval` 60 s (FLT-03). */
export const BACKOFF_MAX_MS = 60_000;
/** ±20 % jitter on every retry delay, so restarted fleets spread out (FLT-03, FLT-08). */
export const BACKOFF_JITTER = 0.2;
