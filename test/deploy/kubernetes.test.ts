// The Kubernetes example in deploy/kubernetes/ (docs/scale-out.md) holds together
// without a cluster to apply it to: every file is valid YAML listed by the
// kustomization, the services select the StatefulSet's pods, ports are named
// and numbered the same everywhere (container, services, probe, Skein's config,
// the DNS peer discovery), volumes and mounts match the paths Skein is started
// with, and the config, with the pod's environment overrides applied, passes
// Skein's own validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { ENV_OVERRIDES, loadConfig } from '../../src/config/load.js';
import { tempDir } from '../helpers/skein-process.js';

// dist/test/deploy → repository root
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const DIR = join(ROOT, 'deploy', 'kubernetes');

/** Manifests are loose trees, read field by field and checked as they are read. */
type Doc = Record<string, any>;

function load(file: string): Doc[] {
  const docs = parseAllDocuments(readFileSync(join(DIR, file), 'utf8'));
  return docs.map((d, i) => {
    assert.deepEqual(d.errors.map((e) => e.message), [], `${file} document ${i + 1} is valid YAML`);
    return d.toJS() as Doc;
  });
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();
const manifests = files.filter((f) => f !== 'kustomization.yaml').flatMap((f) => load(f).map((doc) => ({ file: f, doc })));
const byKind = (kind: string): Doc[] => manifests.filter((m) => m.doc['kind'] === kind).map((m) => m.doc);
const one = (kind: string): Doc => {
  const found = byKind(kind);
  assert.equal(found.length, 1, `exactly one ${kind}`);
  return found[0]!;
};

const statefulSet = one('StatefulSet');
const configMap = one('ConfigMap');
const services = byKind('Service');
const pod = statefulSet['spec']['template'];
const container = (pod['spec']['containers'] as Doc[]).find((c) => c['name'] === 'skein')!;
const containerPorts = new Map<string, number>((container['ports'] as Doc[]).map((p) => [p['name'] as string, p['containerPort'] as number]));
const args = container['args'] as string[];
const argValue = (flag: string): string => {
  const i = args.indexOf(flag);
  assert.ok(i >= 0 && args[i + 1] !== undefined, `the container passes ${flag}`);
  return args[i + 1]!;
};
const env = new Map<string, Doc>((container['env'] as Doc[]).map((e) => [e['name'] as string, e]));

test('every manifest is valid YAML, has a kind and a name, and the kustomization lists each file', () => {
  assert.ok(files.includes('kustomization.yaml'));
  const [kustomization] = load('kustomization.yaml');
  assert.deepEqual([...(kustomization!['resources'] as string[])].sort(), files.filter((f) => f !== 'kustomization.yaml'));
  for (const { file, doc } of manifests) {
    assert.equal(typeof doc['apiVersion'], 'string', `${file}: apiVersion`);
    assert.equal(typeof doc['kind'], 'string', `${file}: kind`);
    assert.equal(typeof doc['metadata']?.['name'], 'string', `${file}: metadata.name`);
  }
});

test('the services select the StatefulSet\'s pods, and the StatefulSet is governed by the headless one', () => {
  const labels = pod['metadata']['labels'] as Record<string, string>;
  const matches = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
  assert.ok(matches(statefulSet['spec']['selector']['matchLabels']), 'the StatefulSet selector matches its pod template');
  assert.ok(services.length >= 1);
  for (const svc of services) assert.ok(matches(svc['spec']['selector']), `Service ${svc['metadata']['name']} selects the pods`);
  const headless = services.find((s) => s['metadata']['name'] === statefulSet['spec']['serviceName']);
  assert.ok(headless, `a Service named ${statefulSet['spec']['serviceName']} (the StatefulSet's serviceName)`);
  assert.equal(headless['spec']['clusterIP'], 'None', 'the governing service is headless: one DNS record per pod');
});

test('ports are named and numbered consistently: container, services, readiness probe, Skein\'s listeners and DNS discovery', () => {
  for (const svc of services) {
    for (const p of svc['spec']['ports'] as Doc[]) {
      const target = p['targetPort'];
      const port = typeof target === 'string' ? containerPorts.get(target) : target;
      assert.ok(port !== undefined, `Service ${svc['metadata']['name']} port ${p['name']} targets a container port (${target})`);
      assert.equal(p['port'], port, `Service ${svc['metadata']['name']} port ${p['name']} is the container's`);
      assert.equal(containerPorts.get(p['name']), port, `Service port ${p['name']} has the name of the container port it targets`);
    }
  }
  const probe = container['readinessProbe']['httpGet'];
  assert.equal(probe['path'], '/ready');
  assert.ok(containerPorts.has(probe['port']), `the readiness probe's port ${probe['port']} is a named container port`);

  const config = podConfig();
  const portOf = (hostPort: string) => Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
  assert.equal(portOf(config.server.http_listen_address), containerPorts.get('http'), 'server.http_listen_address is the `http` port');
  assert.equal(portOf(config.receivers.otlp.protocols.grpc.endpoint), containerPorts.get('otlp-grpc'), 'the OTLP gRPC receiver is the `otlp-grpc` port');
  assert.equal(portOf(config.receivers.otlp.protocols.http.endpoint), containerPorts.get('otlp-http'), 'the OTLP HTTP receiver is the `otlp-http` port');
  assert.equal(config.cluster.dns.otlp_grpc_port, containerPorts.get('otlp-grpc'), 'cluster.dns.otlp_grpc_port is the peers\' `otlp-grpc` port');
  assert.equal(config.cluster.dns.http_port, containerPorts.get('http'), 'cluster.dns.http_port is the peers\' `http` port');
  assert.equal(probe['port'], 'http', 'readiness asks the API port');
});

test('volumes: the config map is mounted where --config reads it, the persistent volume where --data-dir and storage.path point', () => {
  const mounts = new Map<string, string>((container['volumeMounts'] as Doc[]).map((m) => [m['name'] as string, m['mountPath'] as string]));
  const volumes = new Map<string, Doc>((pod['spec']['volumes'] as Doc[]).map((v) => [v['name'] as string, v]));
  const claims = (statefulSet['spec']['volumeClaimTemplates'] as Doc[]).map((c) => c['metadata']['name'] as string);
  for (const name of mounts.keys()) assert.ok(volumes.has(name) || claims.includes(name), `mount ${name} has a volume or a claim template`);

  const configFile = argValue('--config');
  const configVolume = [...volumes.entries()].find(([, v]) => v['configMap']?.['name'] === configMap['metadata']['name']);
  assert.ok(configVolume, `a volume holds ConfigMap ${configMap['metadata']['name']}`);
  const configMount = mounts.get(configVolume[0]);
  assert.ok(configMount, 'the config volume is mounted');
  assert.ok(configFile.startsWith(`${configMount}/`), `--config ${configFile} is under the config mount ${configMount}`);
  assert.ok(configFile.slice(configMount.length + 1) in configMap['data'], `the ConfigMap has the key ${configFile.slice(configMount.length + 1)}`);

  const dataDir = argValue('--data-dir');
  const dataClaim = claims.find((c) => mounts.get(c) === dataDir);
  assert.ok(dataClaim, `--data-dir ${dataDir} is a persistent volume from a claim template (the WAL must outlive the pod)`);
  assert.equal(podConfig().storage.path, dataDir, 'storage.path and --data-dir agree');
});

test('the config, with the pod\'s environment overrides, is a valid Skein cluster config: S3 backend, peers from the headless service', () => {
  for (const name of env.keys()) {
    if (name.startsWith('SKEIN_')) assert.ok(ENV_OVERRIDES.some((o) => o.env === name), `${name} is an environment override Skein knows (src/config/load.ts)`);
  }
  assert.equal(env.get('SKEIN_CLUSTER_ADVERTISE_HOST')?.['valueFrom']?.['fieldRef']?.['fieldPath'], 'status.podIP', 'each pod advertises its own IP');
  const dnsName = env.get('SKEIN_CLUSTER_DNS_NAME')?.['value'] as string;
  assert.ok(dnsName?.startsWith(`${statefulSet['spec']['serviceName']}.`), `SKEIN_CLUSTER_DNS_NAME (${dnsName}) names the headless service`);
  const headless = services.find((s) => s['metadata']['name'] === statefulSet['spec']['serviceName'])!;
  assert.equal(headless['spec']['publishNotReadyAddresses'], true, 'a restarting pod stays a peer (the ring does not move)');

  const config = podConfig();
  assert.equal(config.storage.backend, 's3');
  assert.notEqual(config.storage.s3.bucket, '');
  assert.equal(config.cluster.advertise_host, '10.1.2.3');
  assert.equal(config.cluster.dns.name, 'skein-headless.observability.svc.cluster.local');
  assert.equal(config.storage.s3.access_key_id, '', 'no credentials in the ConfigMap: they come from the Secret through the AWS SDK chain');
  assert.equal(config.storage.s3.secret_access_key, '');
  for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) assert.ok(env.get(key)?.['valueFrom']?.['secretKeyRef'], `${key} comes from a Secret`);
});

/** The config as the pod loads it: the ConfigMap's file plus the container's SKEIN_* environment, as in namespace `observability` at 10.1.2.3. */
function podConfig(): ReturnType<typeof loadConfig> {
  const key = Object.keys(configMap['data'])[0]!;
  const file = join(tempDir('skein-k8s-'), key);
  writeFileSync(file, configMap['data'][key] as string);
  const values: Record<string, string> = { POD_NAMESPACE: 'observability', SKEIN_CLUSTER_ADVERTISE_HOST: '10.1.2.3' };
  for (const [name, e] of env) {
    if (typeof e['value'] === 'string') values[name] = (e['value'] as string).replace(/\$\(([A-Z_]+)\)/g, (_, v: string) => values[v] ?? '');
  }
  return loadConfig({ file, env: values, overrides: [{ path: ['storage', 'path'], value: argValue('--data-dir') }] });
}
