// The redaction processor, after the collector's redactionprocessor: deletes
// attributes whose keys are not allowed, masks values under blocked keys and
// every rule match inside values, on resource, scope, span, event and link
// attributes; beyond the collector, it masks the built-in rules' matches in the
// text fields too (span and event names, status messages, scope names,
// attribute keys), then hands the batch on. It works in place: a span with
// nothing to redact is neither copied nor written. A changed attribute is a new
// KeyValue in the span's list, never a change to the old one, which the decoder
// may share between spans.
import { createHash, createHmac } from 'node:crypto';
import type { AnyValue, KeyValue, ResourceSpans } from '../../../otlp/model.js';
import type { Logger } from '../../../telemetry/logger.js';
import type { ComponentContext, Processor } from '../../component.js';
import type { TracesConsumer } from '../../consumer.js';
import type { RefusedSpans } from '../../../lib/refused.js';
import { forgetWireForm } from '../../../otlp/wire-form.js';
import { redactionConfigSchema, type RedactionConfig, type TextField } from './config.js';
import { redactionMetrics } from './metrics.js';
import { compileRe2, type Re2Pattern } from '../../../regex/re2.js';
import { builtinRules, DEFAULT_RULE_NAMES, userRule, type RedactionRule } from './rules.js';

/** What a match becomes when no hash function is configured (the collector's mask). */
export const MASK = '****';

/** The collector's summary attributes. */
export const SUMMARY_KEYS = {
  redactedKeys: 'redaction.redacted.keys',
  redactedCount: 'redaction.redacted.count',
  maskedKeys: 'redaction.masked.keys',
  maskedCount: 'redaction.masked.count',
  allowedKeys: 'redaction.allowed.keys',
  allowedCount: 'redaction.allowed.count',
  ignoredCount: 'redaction.ignored.count',
} as const;

type Where = 'resource' | 'scope' | 'span' | 'event' | 'link';

// What the key rules say about a key; 0 and up is the index of the blocked key pattern it matches.
const IGNORE = -3;
const DELETE = -2;
const SCAN = -1;

/**
 * Shortest trigger literal worth putting in the combined search: a one-character
 * alternative stops V8 from skipping ahead, which doubles the search's cost.
 */
const MIN_GATE_LITERAL = 2;
/** Distinct keys whose key-pattern verdicts (or clean scans), and distinct clean values and texts, remembered (they repeat from span to span). */
const KEY_CACHE_LIMIT = 4096;
/** Places listed per rule in a dry-run log line. */
const DRY_RUN_PLACES_PER_RULE = 20;

/** What one batch's redaction did, for metrics and the dry-run log. */
export interface Findings {
  /** Accepted matches per rule slot (see Redactor.slotNames). */
  readonly hits: number[];
  keysDeleted: number;
  /** Whether anything in the batch was changed (a value masked, a key deleted, a summary added). */
  changed: boolean;
  /** Dry run only: per rule, where it matched (`span:http.url`, `span_name`); never the value. */
  readonly places: Map<string, Set<string>>;
}

/** The redaction of attribute lists, compiled once from the configuration. */
export class Redactor {
  /** Names of the counting slots: value rules, then blocked key patterns, then `allowed_keys` (dry-run deletions). */
  readonly slotNames: string[];
  private readonly rules: RedactionRule[];
  private readonly replacers: Array<(match: string) => string>;
  /** One search for the rules' trigger literals; undefined when no rule has any. */
  private readonly triggerGate: RegExp | undefined;
  /** Per rule: whether it also runs on the text fields (built-ins do, user rules when they say so). */
  private readonly inTextFields: boolean[];
  /** The text fields scanned (`text_fields`). */
  private readonly textFields: ReadonlySet<TextField>;
  private readonly scanKeys: boolean;
  /** Keys in which the text-field rules found nothing (a key with a match is scanned each time, so each is counted). */
  private readonly cleanKeys = new Set<string>();
  /**
   * Likewise values in which no rule found anything, and text fields in which the text-field rules found
   * nothing: spans repeat most of their values and names, and a repeat is then known without a scan.
   */
  private readonly cleanValues = new Set<string>();
  private readonly cleanTexts = new Set<string>();
  /**
   * Attributes in which nothing was found, nothing exempted and nothing ignored, by identity:
   * the decoder hands a repeated attribute out as the same frozen KeyValue, so a repeat is
   * passed without even reading its key.
   */
  private readonly cleanAttributes = new Set<KeyValue>();
  /** Per rule: whether its triggers are part of the gate (one-character ones are not). */
  private readonly gated: boolean[];
  /** Rule indexes in order: all of them, and those the gate does not decide (run on every value). */
  private readonly allSlots: number[];
  private readonly ungatedSlots: number[];
  /** Values shorter than every gated rule's minimum skip the gate (Infinity without a gate). */
  private readonly minGatedLength: number;
  /** Per rule with triggers: whether a value holds one of them (in any letter case when the rule says so). */
  private readonly hasTrigger: Array<((text: string) => boolean) | undefined>;
  /** Values shorter than every rule's minimum skip the rules altogether. */
  private readonly minRuleLength: number;
  private readonly blockedKeyPatterns: Re2Pattern[];
  private readonly ignoredKeyPatterns: Re2Pattern[];
  private readonly ignoredKeys: ReadonlySet<string>;
  /** Undefined when every key is allowed. */
  private readonly allowedKeys: ReadonlySet<string> | undefined;
  private readonly allowedValues: Re2Pattern[];
  private readonly mask: (text: string) => string;
  private readonly keyPatternCache = new Map<string, number>();
  private readonly dryRun: boolean;
  private readonly redactAllTypes: boolean;
  private readonly summary: RedactionConfig['summary'];
  private readonly deleteSlot: number;

  // The value being scanned; fields rather than arguments so that each rule's
  // replacer is created once, not per value.
  private findings: Findings = newFindings(0);
  private hits = 0;
  private exempted = 0;
  private where: Where = 'span';
  private key = '';
  /** The text field being scanned, as dry-run places name it; undefined while scanning values. */
  private field: string | undefined;

  constructor(config: RedactionConfig) {
    const builtins = builtinRules([...(config.default_rules ? DEFAULT_RULE_NAMES : []), ...config.optional_rules]);
    this.rules = [
      ...builtins,
      ...config.blocked_values.map((source, i) => userRule(`blocked_values[${i}]`, source)),
      ...config.rules.map((r) => userRule(r.name, r.pattern)),
    ].map(sameShape);
    // blocked_values keep the collector's meaning: values only.
    this.inTextFields = [...builtins.map(() => true), ...config.blocked_values.map(() => false), ...config.rules.map((r) => r.in_text_fields)];
    this.textFields = new Set(config.text_fields);
    this.scanKeys = this.textFields.has('attribute_key');
    this.gated = this.rules.map((r) => r.triggers !== undefined && r.triggers.every((t) => t.length >= MIN_GATE_LITERAL));
    // Case-insensitive triggers become character classes: a flag on the whole gate would slow the
    // search for the others, and listing a few spellings ("earer", "EARER") misses mixed case.
    const triggers = [...new Set(this.rules.filter((_, i) => this.gated[i]).flatMap((r) => (r.triggers ?? []).map((t) => triggerSource(t, r.triggersIgnoreCase))))];
    this.triggerGate = triggers.length > 0 ? new RegExp(triggers.join('|')) : undefined;
    this.allSlots = this.rules.map((_, i) => i);
    this.ungatedSlots = this.allSlots.filter((i) => !this.gated[i]);
    this.minGatedLength = Math.min(...this.rules.filter((_, i) => this.gated[i]).map((r) => r.minLength));
    this.hasTrigger = this.rules.map((r) => {
      const literals = r.triggers;
      if (literals === undefined) return undefined;
      if (!r.triggersIgnoreCase) return (text: string) => includesAny(text, literals);
      const re = new RegExp(literals.map(escapeRegExp).join('|'), 'i');
      return (text: string) => re.test(text);
    });
    this.minRuleLength = Math.min(...this.rules.map((r) => r.minLength));
    this.blockedKeyPatterns = config.blocked_key_patterns.map(compileRe2);
    this.ignoredKeyPatterns = config.ignored_key_patterns.map(compileRe2);
    this.ignoredKeys = new Set(config.ignored_keys);
    this.allowedKeys = config.allow_all_keys ? undefined : new Set([...config.allowed_keys, ...Object.values(SUMMARY_KEYS)]);
    this.allowedValues = config.allowed_values.map(compileRe2);
    this.mask = maskFunction(config);
    this.dryRun = config.dry_run;
    this.redactAllTypes = config.redact_all_types;
    this.summary = config.summary;
    this.slotNames = [
      ...this.rules.map((r) => r.name),
      ...config.blocked_key_patterns.map((_, i) => `blocked_key_patterns[${i}]`),
      'allowed_keys',
    ];
    this.deleteSlot = this.slotNames.length - 1;
    this.replacers = this.rules.map((rule, slot) => (match: string) => {
      // An empty match would insert a mask between characters; a rejected one is not a secret.
      if (match.length === 0 || (rule.accept !== undefined && !rule.accept(match))) return match;
      this.hit(slot);
      // A dry run masks too (and then drops the result), so later rules see what they would
      // really see and the counts match a real run's.
      return this.dryRun ? MASK : this.mask(match);
    });
  }

  /** A text with the text-field rules' matches masked, outside any batch (counted nowhere). */
  maskText(text: string): string {
    this.findings = newFindings(this.slotNames.length);
    return this.scan(text, true);
  }

  /** Redacts a batch in place and says what was found. */
  redactBatch(batch: readonly ResourceSpans[]): Findings {
    this.findings = newFindings(this.slotNames.length);
    // A resource or scope object shared by several entries is redacted once,
    // so its summary counts are not added twice.
    const seen = new Set<object>();
    for (const rs of batch) {
      if (!seen.has(rs.resource)) {
        seen.add(rs.resource);
        this.redactAttributes(rs.resource.attributes, 'resource');
      }
      for (const ss of rs.scopeSpans) {
        if (!seen.has(ss.scope)) {
          seen.add(ss.scope);
          ss.scope.name = this.redactText(ss.scope.name, 'scope_name');
          this.redactAttributes(ss.scope.attributes, 'scope');
        }
        for (const span of ss.spans) {
          span.name = this.redactText(span.name, 'span_name');
          const message = this.redactText(span.status.message, 'status_message');
          // A new status: decoders may share one status object between spans.
          if (message !== span.status.message) span.status = { ...span.status, message };
          this.redactAttributes(span.attributes, 'span');
          for (const event of span.events) {
            event.name = this.redactText(event.name, 'event_name');
            this.redactAttributes(event.attributes, 'event');
          }
          for (const link of span.links) this.redactAttributes(link.attributes, 'link');
        }
      }
    }
    return this.findings;
  }

  private redactAttributes(attrs: KeyValue[], where: Where): void {
    if (attrs.length === 0) return;
    let deleted: string[] | undefined;
    let masked: string[] | undefined;
    let allowed: string[] | undefined;
    let ignored = 0;
    let kept = 0;
    for (let i = 0; i < attrs.length; i++) {
      const kv = attrs[i]!;
      if (this.cleanAttributes.has(kv)) {
        attrs[kept++] = kv;
        continue;
      }
      // The key rules read the key as sent.
      const verdict = this.topLevelVerdict(kv.key);
      if (verdict === IGNORE) {
        ignored++;
        attrs[kept++] = kv;
        continue;
      }
      this.where = where;
      // Summaries and dry-run places name a key too: never as sent when it holds a secret.
      // A key deleted where neither will name it is not scanned (its matches are not counted).
      const named = verdict === DELETE && !this.dryRun && this.summary !== 'debug' ? kv.key : this.redactKey(kv.key);
      if (verdict === DELETE) {
        (deleted ??= []).push(named);
        if (!this.dryRun) continue;
        this.key = named;
        this.hit(this.deleteSlot);
        attrs[kept++] = kv;
        continue;
      }
      const hitsBefore = this.hits;
      this.exempted = 0;
      this.key = named;
      const value = verdict === SCAN ? this.redactValue(kv.value) : this.maskWhole(kv.value, verdict);
      if (value !== kv.value) this.findings.changed = true;
      if (this.hits !== hitsBefore) (masked ??= []).push(named);
      else if (this.exempted > 0) (allowed ??= []).push(named);
      // A new KeyValue rather than a changed one: decoders share KeyValues between spans.
      const key = this.dryRun ? kv.key : named;
      if (key === kv.key && value === kv.value) {
        if (this.hits === hitsBefore && this.exempted === 0 && named === kv.key && Object.isFrozen(kv)) remember(this.cleanAttributes, kv);
        attrs[kept++] = kv;
      } else {
        attrs[kept++] = { key, value };
      }
    }
    if (kept < attrs.length) {
      attrs.length = kept;
      this.findings.changed = true;
    }
    if (this.dryRun) return;
    if (deleted) this.findings.keysDeleted += deleted.length;
    if (this.summary !== 'silent' && (deleted || masked || allowed || ignored > 0)) {
      const debug = this.summary === 'debug';
      this.findings.changed = true;
      addToSummary(attrs, deleted?.length ?? 0, debug ? deleted : undefined, SUMMARY_KEYS.redactedKeys, SUMMARY_KEYS.redactedCount);
      addToSummary(attrs, masked?.length ?? 0, debug ? masked : undefined, SUMMARY_KEYS.maskedKeys, SUMMARY_KEYS.maskedCount);
      addToSummary(attrs, allowed?.length ?? 0, debug ? allowed : undefined, SUMMARY_KEYS.allowedKeys, SUMMARY_KEYS.allowedCount);
      addToSummary(attrs, ignored, undefined, undefined, SUMMARY_KEYS.ignoredCount);
    }
  }

  /** The collector's order: ignored, then not allowed (deleted), then blocked key patterns. */
  private topLevelVerdict(key: string): number {
    const verdict = this.keyVerdict(key);
    if (verdict === IGNORE) return IGNORE;
    if (this.allowedKeys !== undefined && !this.allowedKeys.has(key)) return DELETE;
    return verdict;
  }

  /** IGNORE, SCAN or a blocked key pattern's index; applies to keys at any depth. */
  private keyVerdict(key: string): number {
    if (this.ignoredKeys.size > 0 && this.ignoredKeys.has(key)) return IGNORE;
    if (this.ignoredKeyPatterns.length === 0 && this.blockedKeyPatterns.length === 0) return SCAN;
    let verdict = this.keyPatternCache.get(key);
    if (verdict === undefined) {
      verdict = this.ignoredKeyPatterns.some((re) => re.test(key)) ? IGNORE : this.blockedKeyPatterns.findIndex((re) => re.test(key));
      if (this.keyPatternCache.size >= KEY_CACHE_LIMIT) this.keyPatternCache.clear();
      this.keyPatternCache.set(key, verdict);
    }
    return verdict;
  }

  private redactValue(value: AnyValue): AnyValue {
    switch (value.type) {
      case 'string': {
        const out = this.redactString(value.value);
        return out === value.value ? value : { type: 'string', value: out };
      }
      case 'array': {
        const items = value.value;
        for (let i = 0; i < items.length; i++) {
          const item = items[i]!;
          const out = this.redactValue(item);
          if (out !== item) {
            items[i] = out;
            this.findings.changed = true;
          }
        }
        return value;
      }
      case 'kvlist': {
        const entries = value.value;
        for (let i = 0; i < entries.length; i++) {
          const kv = entries[i]!;
          const verdict = this.keyVerdict(kv.key);
          if (verdict === IGNORE) continue;
          const named = this.redactKey(kv.key);
          const key = this.dryRun ? kv.key : named;
          const out = verdict === SCAN ? this.redactValue(kv.value) : this.maskWhole(kv.value, verdict);
          if (out !== kv.value) this.findings.changed = true;
          if (key !== kv.key || out !== kv.value) entries[i] = { key, value: out };
        }
        return value;
      }
      case 'int':
      case 'double':
      case 'bool': {
        if (!this.redactAllTypes) return value;
        const text = String(value.value);
        const out = this.redactString(text);
        return out === text ? value : { type: 'string', value: out };
      }
      default:
        return value;
    }
  }

  /** A value under a blocked key pattern: masked whole unless `allowed_values` exempts it. */
  private maskWhole(value: AnyValue, pattern: number): AnyValue {
    if (value.type === 'string' && this.isAllowedValue(value.value)) {
      this.exempted++;
      return value;
    }
    this.hit(this.rules.length + pattern);
    return this.dryRun ? value : { type: 'string', value: this.mask(valueText(value)) };
  }

  private redactString(text: string): string {
    if (this.allowedValues.length > 0 && this.isAllowedValue(text)) {
      this.exempted++;
      return text;
    }
    if (this.cleanValues.has(text)) return text;
    const out = this.scan(text, false);
    if (out === text) remember(this.cleanValues, text);
    return this.dryRun ? text : out;
  }

  /** A text field with the text-field rules' matches masked (counted; unchanged in a dry run). */
  private redactText(text: string, field: TextField): string {
    if (text === '' || !this.textFields.has(field) || this.cleanTexts.has(text)) return text;
    this.field = field;
    const out = this.scan(text, true);
    this.field = undefined;
    if (out === text) {
      remember(this.cleanTexts, text);
      return text;
    }
    if (this.dryRun) return text;
    this.findings.changed = true;
    return out;
  }

  /**
   * An attribute's key with the text-field rules' matches masked: how summaries and
   * places may name it, and (not in a dry run) what the attribute keeps.
   */
  private redactKey(key: string): string {
    if (!this.scanKeys || this.cleanKeys.has(key)) return key;
    this.field = `${this.where}:attribute_key`;
    const out = this.scan(key, true);
    this.field = undefined;
    if (out === key) remember(this.cleanKeys, key);
    else if (!this.dryRun) this.findings.changed = true;
    return out;
  }

  /**
   * The text with every match of the rules masked (in a dry run too, so later
   * rules see what they would really see); `textField` runs only the rules for text fields.
   */
  private scan(text: string, textField: boolean): string {
    if (text.length < this.minRuleLength) return text;
    const hitsBefore = this.hits;
    // Masks never introduce a trigger, so the gate's verdict on the original text holds for `out`;
    // when it finds none (most values), the gated rules are not even looked at.
    const triggered = text.length >= this.minGatedLength && this.triggerGate!.test(text);
    const slots = triggered ? this.allSlots : this.ungatedSlots;
    let out = text;
    for (let k = 0; k < slots.length; k++) {
      const i = slots[k]!;
      const rule = this.rules[i]!;
      if (out.length < rule.minLength || (textField && !this.inTextFields[i])) continue;
      if (rule.triggers !== undefined && !this.hasTrigger[i]!(out)) continue;
      if (rule.precheck !== undefined && !rule.precheck(out)) continue;
      out = rule.pattern.replaceAll(out, this.replacers[i]!);
    }
    return this.hits === hitsBefore ? text : out;
  }

  private isAllowedValue(text: string): boolean {
    for (const re of this.allowedValues) if (re.test(text)) return true;
    return false;
  }

  private hit(slot: number): void {
    this.hits++;
    this.findings.hits[slot]!++;
    if (!this.dryRun) return;
    const rule = this.slotNames[slot]!;
    let places = this.findings.places.get(rule);
    if (places === undefined) this.findings.places.set(rule, (places = new Set()));
    if (places.size < DRY_RUN_PLACES_PER_RULE) places.add(this.field ?? `${this.where}:${this.key}`);
  }
}

/**
 * The rule with every field present, undefined or not: the scan reads the rules' fields in
 * one loop, and V8 reads a field several times slower once it has seen more than four shapes.
 */
function sameShape(rule: RedactionRule): RedactionRule {
  const { name, pattern, minLength, triggers, triggersIgnoreCase, precheck, accept } = rule;
  return { name, pattern, minLength, triggers, triggersIgnoreCase, precheck, accept };
}

/** Adds a text found clean to a bounded set of them (emptied when full: texts repeat, so it refills with the common ones). */
function remember<T>(clean: Set<T>, text: T): void {
  if (clean.size >= KEY_CACHE_LIMIT) clean.clear();
  clean.add(text);
}

function includesAny(text: string, literals: readonly string[]): boolean {
  for (const literal of literals) if (text.includes(literal)) return true;
  return false;
}

function escapeRegExp(literal: string): string {
  return literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A trigger as part of the gate's pattern; ignoring case, each letter becomes a class: `[eE][aA]…`. */
function triggerSource(literal: string, ignoreCase: boolean | undefined): string {
  if (!ignoreCase) return escapeRegExp(literal);
  return [...literal].map((c) => (c.toLowerCase() !== c.toUpperCase() ? `[${c.toLowerCase()}${c.toUpperCase()}]` : escapeRegExp(c))).join('');
}

function newFindings(slots: number): Findings {
  return { hits: new Array<number>(slots).fill(0), keysDeleted: 0, changed: false, places: new Map() };
}

function maskFunction(config: RedactionConfig): (text: string) => string {
  const fn = config.hash_function;
  switch (fn) {
    case 'none':
      return () => MASK;
    case 'md5':
    case 'sha1':
      return (text) => createHash(fn).update(text).digest('hex');
    case 'sha3':
      // The collector's sha3 is SHA3-256.
      return (text) => createHash('sha3-256').update(text).digest('hex');
    case 'hmac-sha256':
    case 'hmac-sha512': {
      const algorithm = fn.slice('hmac-'.length);
      const key = config.hmac_key ?? '';
      return (text) => createHmac(algorithm, key).update(text).digest('hex');
    }
  }
}

/** Text of a value, as hashed when the whole value is masked. */
function valueText(value: AnyValue): string {
  switch (value.type) {
    case 'string':
      return value.value;
    case 'bool':
    case 'int':
    case 'double':
      return String(value.value);
    case 'bytes':
      return Buffer.from(value.value).toString('base64');
    case 'array':
    case 'kvlist':
      return JSON.stringify(plain(value));
    case 'empty':
      return '';
  }
}

function plain(value: AnyValue): unknown {
  switch (value.type) {
    case 'array':
      return value.value.map(plain);
    case 'kvlist':
      return Object.fromEntries(value.value.map((kv) => [kv.key, plain(kv.value)]));
    case 'empty':
      return null;
    default:
      return valueText(value);
  }
}

/** Adds to a summary attribute, merging with what an earlier pass wrote (as the collector does). */
function addToSummary(attrs: KeyValue[], count: number, keys: string[] | undefined, keysAttr: string | undefined, countAttr: string): void {
  if (count === 0) return;
  if (keys !== undefined && keysAttr !== undefined) {
    const earlier = attrs.find((kv) => kv.key === keysAttr)?.value;
    const all = earlier?.type === 'string' && earlier.value !== '' ? [...keys, ...earlier.value.split(',')] : keys;
    setAttribute(attrs, keysAttr, { type: 'string', value: all.sort().join(',') });
  }
  const earlier = attrs.find((kv) => kv.key === countAttr)?.value;
  const prior = earlier?.type === 'int' ? earlier.value : 0n;
  setAttribute(attrs, countAttr, { type: 'int', value: prior + BigInt(count) });
}

function setAttribute(attrs: KeyValue[], key: string, value: AnyValue): void {
  const i = attrs.findIndex((kv) => kv.key === key);
  if (i >= 0) attrs[i] = { key, value };
  else attrs.push({ key, value });
}

interface CounterChild {
  inc(value?: number): void;
}

/** Turns a batch's findings into metrics and, in a dry run, one log line. */
class FindingsReporter {
  private readonly masked: CounterChild[];
  private readonly dryRunMatches: CounterChild[];
  private readonly keysDeleted: CounterChild;

  constructor(
    processor: string,
    private readonly slotNames: readonly string[],
    private readonly dryRun: boolean,
    private readonly logger: Logger,
  ) {
    // Children made up front, so every rule shows on /metrics at 0 before its first match.
    const atZero = (child: CounterChild): CounterChild => (child.inc(0), child);
    const valueSlots = slotNames.slice(0, -1);
    this.masked = dryRun ? [] : valueSlots.map((rule) => atZero(redactionMetrics.valuesMasked.labels(processor, rule)));
    this.dryRunMatches = dryRun ? slotNames.map((rule) => atZero(redactionMetrics.dryRunMatches.labels(processor, rule))) : [];
    this.keysDeleted = atZero(redactionMetrics.keysDeleted.labels(processor));
  }

  report(tenant: string, findings: Findings): void {
    const counters = this.dryRun ? this.dryRunMatches : this.masked;
    let total = 0;
    findings.hits.forEach((n, slot) => {
      if (n === 0) return;
      counters[slot]?.inc(n);
      total += n;
    });
    if (findings.keysDeleted > 0) this.keysDeleted.inc(findings.keysDeleted);
    if (!this.dryRun || total === 0) return;
    const matches: Record<string, number> = {};
    const places: Record<string, string[]> = {};
    findings.hits.forEach((n, slot) => {
      if (n === 0) return;
      const rule = this.slotNames[slot]!;
      matches[rule] = n;
      places[rule] = [...(findings.places.get(rule) ?? [])];
    });
    // Rule names and attribute keys only: the values are what must not leak.
    this.logger.info({ tenant, matches, places }, 'redaction dry run: these would have been redacted');
  }
}

/** Distinct texts a masker remembers (span names repeat from span to span). */
const MASKER_CACHE_LIMIT = 4096;

/**
 * The check the default redaction makes on span names, for a stage that must
 * not show a name unchecked when no redaction processor masked it.
 */
export function defaultTextMasker(): (text: string) => string {
  const redactor = new Redactor(redactionConfigSchema.parse({}));
  const cache = new Map<string, string>();
  return (text) => {
    let out = cache.get(text);
    if (out === undefined) {
      if (cache.size >= MASKER_CACHE_LIMIT) cache.clear();
      cache.set(text, (out = redactor.maskText(text)));
    }
    return out;
  };
}

export function createRedactionProcessor(config: RedactionConfig, next: TracesConsumer, ctx: ComponentContext): Processor {
  if (!config.enabled) return { consume: (tenant, batch) => next.consume(tenant, batch) };
  const redactor = new Redactor(config);
  const reporter = new FindingsReporter(ctx.name, redactor.slotNames, config.dry_run, ctx.logger);
  ctx.logger.info({ processor: ctx.name, rules: redactor.slotNames.slice(0, -1), dry_run: config.dry_run }, 'redaction rules loaded');
  return {
    async consume(tenant: string, batch: ResourceSpans[]): Promise<RefusedSpans | void> {
      const findings = redactor.redactBatch(batch);
      // The received bytes would still hold what was just masked.
      if (findings.changed) forgetWireForm(batch);
      reporter.report(tenant, findings);
      return next.consume(tenant, batch);
    },
  };
}
