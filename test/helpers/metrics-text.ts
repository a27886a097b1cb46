// Reading a Skein process's /metrics as a user's scraper would: the text, and sums of samples.
import assert from 'node:assert/strict';

export async function metricsText(skein: { url: string }): Promise<string> {
  const res = await fetch(`${skein.url}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

/** Sum of a metric's samples whose labels include all of `labels` (0 when there is none). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
