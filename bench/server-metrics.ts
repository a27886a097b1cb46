// Reads values from the server's Prometheus endpoint, for the quantities
// only the server knows (e.g. how many spans are still in its head).

/** Sum of every series of `name` (all label sets), or undefined if the server does not export it. */
export async function scrapeSum(baseUrl: string, name: string): Promise<number | undefined> {
  const res = await fetch(`${baseUrl}/metrics`);
  const text = await res.text();
  if (!res.ok) return undefined;
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue; // another metric sharing the prefix
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}
