// Samples traces with a string attribute (on a resource or a span) equal to one
// of the values, or matching one of them as regular expressions.
import type { AnyValue } from '../../../../otlp/model.js';
import { compileRe2 } from '../../../../regex/re2.js';
import { Lru } from '../lru.js';
import { attributeDecision } from './attribute-match.js';
import type { PolicyEvaluator, TraceView } from './policy.js';

/** The collector's cache size for regex results when cache_max_size is 0. */
const DEFAULT_REGEX_CACHE_SIZE = 128;

export interface StringAttributeSettings {
  key: string;
  values: readonly string[];
  enabled_regex_matching: boolean;
  cache_max_size: number;
  invert_match: boolean;
}

function exactMatcher(values: readonly string[]): (text: string) => boolean {
  // The collector ignores empty values: an empty attribute never matches exactly.
  const wanted = new Set(values.filter((v) => v !== ''));
  return (text) => wanted.has(text);
}

function regexMatcher(values: readonly string[], cacheSize: number): (text: string) => boolean {
  // Unanchored, as Go's MatchString; RE2, so in linear time whatever the pattern.
  const patterns = values.map(compileRe2);
  // The same few values (routes, service names) recur in every trace: remember their outcome.
  const results = new Lru<string, boolean>(cacheSize > 0 ? cacheSize : DEFAULT_REGEX_CACHE_SIZE);
  return (text) => {
    const known = results.get(text);
    if (known !== undefined) return known;
    const matched = patterns.some((p) => p.test(text));
    results.set(text, matched);
    return matched;
  };
}

export function stringAttributePolicy(settings: StringAttributeSettings): PolicyEvaluator {
  const matches = settings.enabled_regex_matching ? regexMatcher(settings.values, settings.cache_max_size) : exactMatcher(settings.values);
  // Non-string values never match (the collector reads them as ""), and on spans
  // an empty string is skipped, as the collector skips it.
  const test = (value: AnyValue, onSpan: boolean) => value.type === 'string' && !(onSpan && value.value === '') && matches(value.value);
  return {
    evaluate: (trace: TraceView) => attributeDecision(trace, settings.key, test, settings.invert_match),
  };
}
