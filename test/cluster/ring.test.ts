// The ring: the collector's positions exactly, an even enough spread over
// three peers, the same owners whatever order peers are listed in, and only
// the traces of a peer's own arcs move when it joins or leaves.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { POINTS_PER_PEER, RING_POSITIONS, Ring, pointsOf } from '../../src/cluster/ring.js';

const PEERS = ['10.0.0.1:4317', '10.0.0.2:4317', '10.0.0.3:4317'];
const IDS = Array.from({ length: 10_000 }, () => randomBytes(16));

function owners(ring: Ring): string[] {
  return IDS.map((id) => ring.owner(id)!);
}

describe('ring', () => {
  test('the positions are the OpenTelemetry Collector loadbalancing exporter\'s (its own test vectors)', () => {
    // consistent_hashing_test.go: the first five points of endpoint-1 and endpoint-2.
    const firstFive = (id: string) => pointsOf(id).slice(0, 5).sort((a, b) => a - b);
    assert.deepEqual(firstFive('endpoint-1'), [1401, 4175, 14133, 17836, 21667]);
    assert.deepEqual(firstFive('endpoint-2'), [10240, 15002, 21263, 26806, 27020]);
    // TestEndpointFor: with its default weight, these two trace IDs go one to each endpoint.
    const ring = new Ring(['endpoint-1', 'endpoint-2']);
    const traceId = (...head: number[]) => Uint8Array.from([...head, ...new Array<number>(16 - head.length).fill(0)]);
    assert.equal(ring.owner(traceId(1, 2)), 'endpoint-1');
    assert.equal(ring.owner(traceId(128, 128)), 'endpoint-2');
    assert.equal(pointsOf('x').length, POINTS_PER_PEER);
    assert.ok(pointsOf('x').every((p) => p >= 0 && p < RING_POSITIONS));
  });

  test('10 000 random trace IDs spread over three peers within bounds, as the shares say', () => {
    const ring = new Ring(PEERS);
    const counts = new Map<string, number>();
    for (const owner of owners(ring)) counts.set(owner, (counts.get(owner) ?? 0) + 1);
    const shares = ring.shares();
    assert.equal(counts.size, 3);
    assert.ok(Math.abs([...shares.values()].reduce((a, b) => a + b, 0) - 1) < 1e-9, 'the shares cover the circle');
    for (const peer of PEERS) {
      const fraction = counts.get(peer)! / IDS.length;
      // 100 points per peer: each share is a third give or take a few percent.
      assert.ok(fraction > 0.2 && fraction < 0.46, `${peer} owns ${(fraction * 100).toFixed(1)} % of the traces`);
      // The sample agrees with the arcs (standard deviation of a fraction of 10 000: 0.5 %).
      assert.ok(Math.abs(fraction - shares.get(peer)!) < 0.03, `${peer}: ${fraction} of the sample, ${shares.get(peer)} of the circle`);
    }
  });

  test('the same peers in any order, duplicates included, make the same owners', () => {
    const a = owners(new Ring(PEERS));
    assert.deepEqual(owners(new Ring([...PEERS].reverse())), a);
    assert.deepEqual(owners(new Ring([PEERS[1]!, PEERS[2]!, PEERS[0]!, PEERS[1]!])), a);
  });

  test('a peer joining takes traces only for itself, about a quarter of them; leaving gives exactly those back', () => {
    const before = owners(new Ring(PEERS));
    const joined = '10.0.0.4:4317';
    const after = owners(new Ring([...PEERS, joined]));
    let moved = 0;
    for (let i = 0; i < IDS.length; i++) {
      if (before[i] === after[i]) continue;
      moved++;
      assert.equal(after[i], joined, 'a trace moves only to the peer that joined');
    }
    assert.ok(moved / IDS.length > 0.12 && moved / IDS.length < 0.4, `${moved} of ${IDS.length} traces moved`);
    assert.deepEqual(owners(new Ring(PEERS)), before, 'removing it again restores every owner');

    // A peer leaving: only its own traces move, spread over the others.
    const gone = PEERS[0]!;
    const without = owners(new Ring(PEERS.slice(1)));
    for (let i = 0; i < IDS.length; i++) {
      if (before[i] === gone) assert.notEqual(without[i], gone);
      else assert.equal(without[i], before[i], 'a trace of a remaining peer stays');
    }
  });

  test('one peer owns everything; no peers own nothing', () => {
    assert.ok(owners(new Ring(['solo:4317'])).every((o) => o === 'solo:4317'));
    assert.deepEqual(new Ring(['solo:4317']).shares(), new Map([['solo:4317', 1]]));
    assert.equal(new Ring([]).owner(IDS[0]!), undefined);
  });
});
