// One stable colour per service, the same on every page.
const PALETTE = [
  '#4c8bf5', '#34a853', '#f29900', '#a142f4', '#e8710a', '#12b5cb', '#e52592', '#9aa0a6',
  '#7cb342', '#5c6bc0', '#f4511e', '#00897b', '#c0ca33', '#8d6e63', '#d81b60', '#3949ab',
];

const cache = new Map<string, string>();
export function serviceColor(service: string): string {
  let c = cache.get(service);
  if (c === undefined) {
    let h = 2166136261;
    for (let i = 0; i < service.length; i++) h = Math.imul(h ^ service.charCodeAt(i), 16777619);
    c = PALETTE[(h >>> 0) % PALETTE.length]!;
    cache.set(service, c);
  }
  return c;
}
