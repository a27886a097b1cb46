// DNS answers as peers: A addresses at the configured ports, SRV targets at
// their own port for OTLP gRPC and the configured one for HTTP.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { peersFromAddresses, peersFromSrv } from '../../src/cluster/dns.js';

describe('peers from DNS answers', () => {
  test('A: every distinct address at the configured ports; IPv6 in brackets', () => {
    assert.deepEqual(peersFromAddresses(['10.0.0.1', '10.0.0.2', '10.0.0.1', 'fd00::5'], 4317, 3200), [
      { id: '10.0.0.1:4317', otlpGrpc: '10.0.0.1:4317', http: '10.0.0.1:3200' },
      { id: '10.0.0.2:4317', otlpGrpc: '10.0.0.2:4317', http: '10.0.0.2:3200' },
      { id: '[fd00::5]:4317', otlpGrpc: '[fd00::5]:4317', http: '[fd00::5]:3200' },
    ]);
  });

  test('SRV: the target at the record\'s port, its root dot dropped; "." (no service) and repeats left out', () => {
    const srv = (name: string, port: number) => ({ name, port, priority: 0, weight: 1 });
    assert.deepEqual(peersFromSrv([srv('skein-0.skein.ns.svc.cluster.local.', 4317), srv('skein-1.skein.ns.svc.cluster.local', 14317), srv('.', 4317), srv('skein-1.skein.ns.svc.cluster.local', 14317)], 3200), [
      { id: 'skein-0.skein.ns.svc.cluster.local:4317', otlpGrpc: 'skein-0.skein.ns.svc.cluster.local:4317', http: 'skein-0.skein.ns.svc.cluster.local:3200' },
      { id: 'skein-1.skein.ns.svc.cluster.local:14317', otlpGrpc: 'skein-1.skein.ns.svc.cluster.local:14317', http: 'skein-1.skein.ns.svc.cluster.local:3200' },
    ]);
  });
});
