// Payment card recognition for the `card_number` rule. A regex alone cannot
// tell a card number from an order ID or a timestamp; the Luhn check digit and
// the issuer prefix can, so the rule's regex only finds candidate digit runs
// and this module decides.

const MIN_CARD_DIGITS = 13;
const MAX_CARD_DIGITS = 19;
const ZERO = 48;
const SPACE = 32;
const DASH = 45;

function isDigit(code: number): boolean {
  return code >= ZERO && code <= ZERO + 9;
}

function isRunChar(code: number): boolean {
  return isDigit(code) || code === SPACE || code === DASH;
}

/**
 * Whether the text may hold `minDigits` digits in one stretch of digits, spaces
 * and dashes: the cheap precheck before the card regex. Such a stretch is at
 * least `minDigits` characters long, so it covers one of every `minDigits`
 * positions; only those positions are read, plus the stretches found there.
 */
export function mayHoldDigitRun(text: string, minDigits: number): boolean {
  let p = minDigits - 1;
  while (p < text.length) {
    const code = text.charCodeAt(p);
    // A separator only counts between two digits; prose is full of spaces.
    const inRun = isDigit(code) || ((code === SPACE || code === DASH) && isDigit(text.charCodeAt(p - 1)) && isDigit(text.charCodeAt(p + 1)));
    if (!inRun) {
      p += minDigits;
      continue;
    }
    let start = p;
    while (start > 0 && isRunChar(text.charCodeAt(start - 1))) start--;
    let digits = 0;
    let end = start;
    for (; end < text.length; end++) {
      const c = text.charCodeAt(end);
      if (isDigit(c)) {
        if (++digits >= minDigits) return true;
      } else if (c !== SPACE && c !== DASH) {
        break;
      }
    }
    // Next sampled position past this stretch.
    p += minDigits * (Math.floor((end - p) / minDigits) + 1);
  }
  return false;
}

/** Luhn (mod 10) check of `digits[start, start + length)`, the last digit being the check digit. */
export function luhnValid(digits: readonly number[], start = 0, length = digits.length - start): boolean {
  let sum = 0;
  let double = false;
  for (let i = start + length - 1; i >= start; i--) {
    let d = digits[i]!;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

// Issuers in use: Amex/Diners/JCB (3), Visa (4), Mastercard and Maestro (5,
// 2221-2720), Discover/UnionPay/Maestro (6), Mir (2200-2204). Requiring one of
// them keeps epoch timestamps (which start with 1) from ever looking like cards.
function hasIssuerPrefix(digits: readonly number[], start: number): boolean {
  const first = digits[start]!;
  if (first >= 3 && first <= 6) return true;
  const second = digits[start + 1]!;
  return first === 2 && second >= 2 && second <= 7;
}

/**
 * Whether a run of digit groups (digits separated by single spaces or dashes,
 * e.g. `4111 1111 1111 1111 123`) contains a card number: 13-19 digits made of
 * whole consecutive groups, with an issuer prefix and a valid Luhn digit.
 * Whole groups only, so a card written next to its CVV or expiry is still found
 * while arbitrary slices of long numeric IDs are not.
 */
export function containsCardNumber(run: string): boolean {
  if (run.length < MIN_CARD_DIGITS) return false;
  const digits: number[] = [];
  // Digit offsets where a group starts, plus the end: the places a card may begin or end.
  const bounds: number[] = [0];
  for (let i = 0; i < run.length; i++) {
    const code = run.charCodeAt(i);
    if (isDigit(code)) digits.push(code - ZERO);
    else if (bounds[bounds.length - 1] !== digits.length) bounds.push(digits.length);
  }
  if (bounds[bounds.length - 1] !== digits.length) bounds.push(digits.length);

  for (let a = 0; a < bounds.length - 1; a++) {
    const start = bounds[a]!;
    for (let b = a + 1; b < bounds.length; b++) {
      const length = bounds[b]! - start;
      if (length > MAX_CARD_DIGITS) break;
      if (length >= MIN_CARD_DIGITS && hasIssuerPrefix(digits, start) && luhnValid(digits, start, length)) return true;
    }
  }
  return false;
}
