// Configuration of the `redaction` processor, in the collector's YAML syntax
// plus Skein's extensions. docs/redaction.md is the user-facing version.
//
// ## redaction
//
// ```yaml
// processors:
//   redaction:
//     enabled: true               # Skein: the processor is always on unless this is false
//     # --- the collector's keys (Skein's defaults differ where noted) ---
//     allow_all_keys: true        # collector default false: only allowed_keys would survive
//     allowed_keys: []            # with allow_all_keys false, every other key is deleted
//     ignored_keys: []            # left untouched: never deleted, never masked
//     ignored_key_patterns: []    # regexes on keys, same effect as ignored_keys
//     blocked_key_patterns: []    # regexes on keys: the whole value is masked
//     blocked_values: []          # regexes: every match inside a value is masked
//     allowed_values: []          # regexes: a value matching one is exempt from masking
//     hash_function: none         # md5 | sha1 | sha3 (SHA3-256) | hmac-sha256 | hmac-sha512
//     hmac_key: ""                # required by the hmac-* functions (32 / 64 bytes at least)
//     redact_all_types: false     # also scan int, double and bool values (as text)
//     summary: silent             # debug | info | silent: redaction.* attributes added
//     # --- Skein's extensions ---
//     default_rules: true         # the built-in deny-list: pem_private_key, jwt, bearer_token,
//                                 # aws_access_key_id, aws_secret_access_key, card_number,
//                                 # url_credentials, github_token, gitlab_token, slack_token,
//                                 # google_api_key, stripe_key, basic_auth
//     optional_rules: []          # built-ins that are off by default: [email]
//     rules: []                   # named patterns: [{name: internal_token, pattern: "itk_[0-9a-f]{32}",
//                                 #   in_text_fields: false}]  (true: also in text_fields)
//     text_fields: [span_name, status_message, event_name, scope_name, attribute_key]
//                                 # where, besides attribute values, the built-in rules (and
//                                 # rules with in_text_fields) mask matches; [] = values only
//     dry_run: false              # count and log what would be redacted; change nothing
// ```
//
// Order per attribute, as in the collector: ignored keys → keys not allowed are
// deleted → values matching `allowed_values` are exempt → `blocked_key_patterns`
// mask the whole value → the rules (built-ins, `blocked_values`, `rules`) mask
// each match with `****` or its hex hash.
//
// Patterns use the collector's RE2 syntax and run on the RE2 engine (src/regex/re2.ts),
// so a pattern means what it means in the collector and matches in linear time; what
// RE2 refuses (backreferences, lookarounds) fails the configuration with its key path
// (`blocked_values.2: invalid pattern …`).
import { z } from 'zod';
import { DEFAULT_RULE_NAMES, OPTIONAL_RULE_NAMES, RULE_NAME_RE, patternProblem } from './rules.js';

export const HASH_FUNCTIONS = ['none', 'md5', 'sha1', 'sha3', 'hmac-sha256', 'hmac-sha512'] as const;
export type HashFunction = (typeof HASH_FUNCTIONS)[number];
export const SUMMARY_LEVELS = ['debug', 'info', 'silent'] as const;
/** The text that is not an attribute value and can still hold a secret. */
export const TEXT_FIELDS = ['span_name', 'status_message', 'event_name', 'scope_name', 'attribute_key'] as const;
export type TextField = (typeof TEXT_FIELDS)[number];

/** Shortest HMAC key accepted: the digest size, as the collector requires. */
const HMAC_MIN_KEY_BYTES: Partial<Record<HashFunction, number>> = { 'hmac-sha256': 32, 'hmac-sha512': 64 };

const keyList = () => z.array(z.string()).default(() => []);

// The collector reads hash_function case-insensitively and takes "" for none.
const hashFunction = z.preprocess(
  (v) => (typeof v === 'string' ? (v === '' ? 'none' : v.toLowerCase()) : v),
  z.enum(HASH_FUNCTIONS),
);

const options = z
  .strictObject({
    enabled: z.boolean().default(true),
    allow_all_keys: z.boolean().default(true),
    allowed_keys: keyList(),
    ignored_keys: keyList(),
    ignored_key_patterns: keyList(),
    blocked_key_patterns: keyList(),
    blocked_values: keyList(),
    allowed_values: keyList(),
    hash_function: hashFunction.default('none'),
    hmac_key: z.string().optional(),
    redact_all_types: z.boolean().default(false),
    summary: z.enum(SUMMARY_LEVELS).default('silent'),
    default_rules: z.boolean().default(true),
    optional_rules: z.array(z.enum(OPTIONAL_RULE_NAMES)).default(() => []),
    rules: z
      .array(
        z.strictObject({
          name: z.string().regex(RULE_NAME_RE, 'rule names are lowercase letters, digits and _, starting with a letter'),
          pattern: z.string(),
          // Off by default: a pattern written for values may match ordinary names.
          in_text_fields: z.boolean().default(false),
        }),
      )
      .default(() => []),
    text_fields: z.array(z.enum(TEXT_FIELDS)).default(() => [...TEXT_FIELDS]),
    dry_run: z.boolean().default(false),
  })
  .superRefine((c, ctx) => {
    const checkPatterns = (list: 'ignored_key_patterns' | 'blocked_key_patterns' | 'blocked_values' | 'allowed_values') => {
      const forValues = list === 'blocked_values';
      c[list].forEach((source, i) => {
        const problem = patternProblem(source, forValues);
        if (problem) ctx.addIssue({ code: 'custom', path: [list, i], message: `invalid pattern ${JSON.stringify(source)}: ${problem}` });
      });
    };
    checkPatterns('ignored_key_patterns');
    checkPatterns('blocked_key_patterns');
    checkPatterns('blocked_values');
    checkPatterns('allowed_values');

    const taken = new Set<string>([...(c.default_rules ? DEFAULT_RULE_NAMES : []), ...c.optional_rules]);
    c.rules.forEach((rule, i) => {
      const problem = patternProblem(rule.pattern, true);
      if (problem) {
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'pattern'], message: `invalid pattern ${JSON.stringify(rule.pattern)}: ${problem}` });
      }
      // Names label metrics and logs; two rules under one name could not be told apart.
      if (taken.has(rule.name)) {
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `rule name ${JSON.stringify(rule.name)} is already used` });
      }
      taken.add(rule.name);
    });

    const minKeyBytes = HMAC_MIN_KEY_BYTES[c.hash_function];
    if (minKeyBytes !== undefined) {
      const bytes = c.hmac_key === undefined ? 0 : Buffer.byteLength(c.hmac_key, 'utf8');
      // Never echo the key: configuration errors end up in logs.
      if (bytes < minKeyBytes) {
        ctx.addIssue({
          code: 'custom',
          path: ['hmac_key'],
          message: `hash_function ${c.hash_function} needs an hmac_key of at least ${minKeyBytes} bytes (got ${bytes})`,
        });
      }
    } else if (c.hmac_key !== undefined && c.hmac_key !== '') {
      ctx.addIssue({ code: 'custom', path: ['hmac_key'], message: 'hmac_key is only used with hash_function hmac-sha256 or hmac-sha512' });
    }
  });

export type RedactionConfig = z.output<typeof options>;

/** Whether a redaction processor masks secrets in span names (so what it hands on is checked). */
export function masksSpanNames(config: RedactionConfig): boolean {
  return config.enabled && !config.dry_run && config.text_fields.includes('span_name');
}

/** The processor's schema; an empty `redaction:` entry (YAML null) means all defaults. */
export const redactionConfigSchema = z.preprocess((v) => v ?? {}, options);
