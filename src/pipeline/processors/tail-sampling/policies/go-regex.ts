// Collector configs hold Go (RE2) regular expressions. JavaScript's syntax is a
// superset for nearly everything people write in them; the one common form it
// lacks is a leading flag group such as `(?i)`, which becomes a RegExp flag here.
// Matching is unanchored, as Go's MatchString is.

const LEADING_FLAGS = /^\(\?([ims]+)\)/;

export function compileGoRegex(pattern: string): RegExp {
  const flags = LEADING_FLAGS.exec(pattern);
  if (!flags) return new RegExp(pattern);
  return new RegExp(pattern.slice(flags[0].length), [...new Set(flags[1])].join(''));
}
