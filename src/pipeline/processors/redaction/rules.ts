// The rules that find secrets inside string values: Skein's built-in deny-list
// (what ships on by default) and the compiler for users' patterns, which are
// written in the collector's (RE2) syntax and run by the RE2 engine (linear time,
// whatever the pattern). The built-ins are JavaScript regexes: ours, reviewed to be
// linear, and they need lookarounds RE2 has not got.
import { compileRe2, re2Problem, type Re2Pattern } from '../../../regex/re2.js';
import { containsCardNumber, mayHoldDigitRun } from './luhn.js';

/** What a rule needs of its pattern: every match replaced (Re2Pattern, or a global JavaScript regex for a built-in). */
export type RulePattern = Pick<Re2Pattern, 'replaceAll'>;

export interface RedactionRule {
  /** Metric label and log name: a built-in name, a user rule's name, or `blocked_values[i]`. */
  readonly name: string;
  /** Every accepted match is masked. */
  readonly pattern: RulePattern;
  /** Shortest value that can hold a match: shorter values skip the rule without scanning. */
  readonly minLength: number;
  /**
   * Literals of which a value must contain one for the pattern to match. The
   * processor looks for every rule's triggers in one combined search, so most
   * values are dismissed without running any rule's regex.
   */
  readonly triggers?: readonly string[];
  /** Whether the triggers match in any letter case (for rules whose pattern ignores case). */
  readonly triggersIgnoreCase?: boolean;
  /** A cheap test for what literals cannot express (a long digit run); false skips the regex. */
  readonly precheck?: (value: string) => boolean;
  /** A check the regex cannot express (Luhn for cards); a match it rejects is kept as is. */
  readonly accept?: (match: string) => boolean;
}

/** Built-in rules that are on unless `default_rules: false`. */
export const DEFAULT_RULE_NAMES = [
  'pem_private_key',
  'bearer_token',
  'jwt',
  'aws_access_key_id',
  'aws_secret_access_key',
  'card_number',
  'url_credentials',
  'github_token',
  'gitlab_token',
  'slack_token',
  'google_api_key',
  'stripe_key',
  'basic_auth',
] as const;
/** Built-in rules that are off unless listed in `optional_rules`. */
export const OPTIONAL_RULE_NAMES = ['email'] as const;
export type BuiltinRuleName = (typeof DEFAULT_RULE_NAMES)[number] | (typeof OPTIONAL_RULE_NAMES)[number];

/** Names users may give their own rules (metric label values, so kept plain). */
export const RULE_NAME_RE = /^[a-z][a-z0-9_]*$/;

// A token after "Bearer" that is just an English word ("Bearer token",
// "Bearer realm=...") is prose or a challenge header, not a credential.
const PLAIN_WORD = /^(?:[A-Z]?[a-z]+|[A-Z]+)[.=]*$/;
const MIN_BEARER_TOKEN = 8;

const BUILTIN_RULES: Record<BuiltinRuleName, RedactionRule> = {
  // First, so a key block is masked whole before other rules see pieces of it.
  // A block cut short by an attribute length limit has no END line: mask to the end.
  pem_private_key: {
    name: 'pem_private_key',
    pattern: js(
      /-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|[\s\S]*)/g,
    ),
    minLength: 30,
    triggers: ['PRIVATE KEY'],
  },
  // RFC 6750 b64token; only the token is masked so "Authorization: Bearer ****" stays
  // readable. Before jwt, so a JWT sent as a bearer token is counted as one.
  bearer_token: {
    name: 'bearer_token',
    pattern: js(/(?<=\bbearer[ \t]{1,16})[A-Za-z0-9\-._~+/]+=*/gi),
    minLength: 7 + MIN_BEARER_TOKEN,
    triggers: ['earer'],
    triggersIgnoreCase: true,
    accept: (token) => token.length >= MIN_BEARER_TOKEN && !PLAIN_WORD.test(token),
  },
  // header.payload.signature, base64url, the header being JSON (so "eyJ");
  // up to two more segments cover the five-part JWE form.
  jwt: {
    name: 'jwt',
    pattern: js(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+){0,2}/g),
    minLength: 20,
    triggers: ['eyJ'],
  },
  aws_access_key_id: {
    name: 'aws_access_key_id',
    pattern: js(/(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])/g),
    minLength: 20,
    triggers: ['AKIA', 'ASIA'],
  },
  // The 40-character secret only has a recognisable shape next to its name
  // (aws_secret_access_key=..., "SecretAccessKey": "..."); only the secret is masked.
  aws_secret_access_key: {
    name: 'aws_secret_access_key',
    pattern: js(/(?<=secret[_.-]?(?:access[_.-]?)?key["']?[ \t]*(?:=>|[:=])[ \t]*["']?)[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/gi),
    minLength: 50,
    triggers: ['ecret'],
    triggersIgnoreCase: true,
  },
  // Candidate runs of digit groups not touching letters or digits; containsCardNumber
  // keeps only those holding an issuer prefix and a valid Luhn digit. The whole
  // run is masked, so a CVV or expiry written next to the number goes too.
  card_number: {
    name: 'card_number',
    pattern: js(/(?<![0-9A-Za-z])[0-9]+(?:[ -][0-9]+)*(?![0-9A-Za-z])/g),
    minLength: 13,
    precheck: (v) => mayHoldDigitRun(v, 13),
    accept: containsCardNumber,
  },
  // The password of `scheme://user:password@host`; the user name and host stay readable.
  // The lookbehind is bounded, so a long value is not rescanned from every position.
  url_credentials: {
    name: 'url_credentials',
    pattern: js(/(?<=[A-Za-z][A-Za-z0-9+.-]{0,30}:\/\/[^\s/?#@:]{0,128}:)[^\s/?#@]+(?=@)/g),
    minLength: 9,
    // "@", not "://": most URLs have no user information, and "://" would pass the combined
    // trigger search for each of them, sending the value through every rule's own check.
    triggers: ['@'],
    precheck: (v) => v.includes('://'),
  },
  // Classic tokens (ghp_, gho_, ghu_, ghs_, ghr_ and 36 characters) and fine-grained ones (github_pat_).
  github_token: {
    name: 'github_token',
    pattern: js(/(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,244})(?![A-Za-z0-9_])/g),
    minLength: 40,
    triggers: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_'],
  },
  // Personal, project and group access tokens.
  gitlab_token: {
    name: 'gitlab_token',
    pattern: js(/(?<![A-Za-z0-9_-])glpat-[A-Za-z0-9_-]{20,64}(?![A-Za-z0-9_-])/g),
    minLength: 26,
    triggers: ['glpat-'],
  },
  // Bot, user, app-level and configuration tokens, and the secret path of an incoming webhook URL.
  slack_token: {
    name: 'slack_token',
    pattern:
      js(/(?<![A-Za-z0-9-])(?:xox[abposre]-[0-9A-Za-z-]{10,250}|xapp-[0-9]-[0-9A-Za-z-]{10,250})|(?<=hooks\.slack\.com\/(?:services|workflows|triggers)\/)[A-Za-z0-9_/-]{20,200}/g),
    minLength: 15,
    triggers: ['xox', 'xapp-', 'hooks.slack.com/'],
  },
  google_api_key: {
    name: 'google_api_key',
    pattern: js(/(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])/g),
    minLength: 39,
    triggers: ['AIza'],
  },
  // Secret and restricted keys, live and test; publishable keys (pk_) are public by design.
  stripe_key: {
    name: 'stripe_key',
    pattern: js(/(?<![A-Za-z0-9_])(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,247}(?![A-Za-z0-9_])/g),
    minLength: 18,
    triggers: ['k_live_', 'k_test_'],
  },
  // `Basic <base64 of user:password>` (RFC 7617); only a token that decodes to `user:password`
  // counts, so "Basic auth" or "Basic getUserProfile" are kept.
  basic_auth: {
    name: 'basic_auth',
    pattern: js(/(?<=\bbasic[ \t]{1,16})[A-Za-z0-9+/]{4,}={0,2}(?![A-Za-z0-9+/=])/gi),
    minLength: 10,
    // Not "asic": a class for the common letter a would slow the trigger search for every value.
    triggers: ['basic'],
    triggersIgnoreCase: true,
    accept: isBasicCredentials,
  },
  // Anchored at the start of a local-part run so a long run without "@" is scanned once, not once per character.
  email: {
    name: 'email',
    pattern: js(/(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g),
    minLength: 6,
    triggers: ['@'],
  },
};

/** Whether a Basic token decodes to printable `user:password` text. */
function isBasicCredentials(token: string): boolean {
  if (token.length % 4 !== 0) return false;
  const decoded = Buffer.from(token, 'base64').toString('latin1');
  return decoded.includes(':') && /^[\x20-\x7e]+$/.test(decoded);
}

/** The built-in rules by name, in the order they run. */
export function builtinRules(names: Iterable<BuiltinRuleName>): RedactionRule[] {
  const wanted = new Set(names);
  return (Object.keys(BUILTIN_RULES) as BuiltinRuleName[]).filter((n) => wanted.has(n)).map((n) => BUILTIN_RULES[n]);
}

/** A built-in's global regex as a rule pattern. */
function js(re: RegExp): RulePattern {
  return { replaceAll: (text, replace) => text.replace(re, replace) };
}

/** A rule from a user's pattern; the whole match is masked, as in the collector. */
export function userRule(name: string, source: string): RedactionRule {
  return { name, pattern: compileRe2(source), minLength: 1 };
}

/** Why a pattern cannot be used, or undefined when it can. `forValues` also refuses patterns matching "". */
export function patternProblem(source: string, forValues: boolean): string | undefined {
  const problem = re2Problem(source);
  if (problem !== undefined) return problem;
  if (forValues && compileRe2(source).test('')) return 'it matches the empty string, so it would mask between every character';
  return undefined;
}
