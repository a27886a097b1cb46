// The Kubernetes deployment in deploy/kubernetes/ (docs/deploy.md#3e-or-run-on-kubernetes), without a
// cluster to apply it to. Each kustomization (the single-binary base, the scale-out
// overlay) is rendered with `kubectl kustomize` as `kubectl apply -k` would, and every
// rendered object is validated against the Kubernetes API's schemas, unknown fields
// included (kubernetes-schemas.ts). Then what the schemas cannot see: the services and
// the ServiceMonitor select what they should, ports are named and numbered the same
// everywhere (container, services, probes, Skein's config, the DNS peer discovery),
// volumes and mounts match the paths Skein is started with, the pod meets the "restricted"
// Pod Security Standard, the container's memory and the memory_limiter agree, and the
// config, with the pod's environment overrides applied, passes Skein's own validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ENV_OVERRIDES, loadConfig } from '../../src/config/load.js';
import { parseBytes } from '../../src/config/units.js';
import { memoryLimits, type MemoryLimiterConfig } from '../../src/pipeline/processors/memory-limiter/memory-limiter.js';
import { tempDir } from '../helpers/skein-process.js';
import { KUBERNETES, render, type Doc } from './kubernetes-render.js';
import { schemaProblems } from './kubernetes-schemas.js';

const BASE = 'base';
const SCALE_OUT = 'overlays/scale-out';
const ROOT = join(KUBERNETES, '..', '..');

/** The parts of one rendered deployment the checks read. */
function deployment(dir: string) {
  const objects = render(dir);
  const byKind = (kind: string): Doc[] => objects.filter((o) => o['kind'] === kind);
  const one = (kind: string): Doc => {
    const found = byKind(kind);
    assert.equal(found.length, 1, `${dir}: exactly one ${kind}`);
    return found[0]!;
  };
  const statefulSet = one('StatefulSet');
  const pod = statefulSet['spec']['template'] as Doc;
  const container = (pod['spec']['containers'] as Doc[]).find((c) => c['name'] === 'skein');
  assert.ok(container, `${dir}: the pod has a container named skein`);
  const args = container['args'] as string[];
  const argValue = (flag: string): string => {
    const i = args.indexOf(flag);
    assert.ok(i >= 0 && args[i + 1] !== undefined, `${dir}: the container passes ${flag}`);
    return args[i + 1]!;
  };
  return {
    objects,
    statefulSet,
    pod,
    container,
    configMap: one('ConfigMap'),
    services: byKind('Service'),
    serviceMonitor: one('ServiceMonitor'),
    disruptionBudgets: byKind('PodDisruptionBudget'),
    argValue,
    containerPorts: new Map<string, number>((container['ports'] as Doc[]).map((p) => [p['name'] as string, p['containerPort'] as number])),
    env: new Map<string, Doc>(((container['env'] ?? []) as Doc[]).map((e) => [e['name'] as string, e])),
    headless: byKind('Service').find((s) => s['metadata']['name'] === statefulSet['spec']['serviceName']),
  };
}
type Deployment = ReturnType<typeof deployment>;

/** The config as the pod loads it: the ConfigMap's file plus the container's SKEIN_* environment, as in namespace `observability` at 10.1.2.3. */
function podConfig(d: Deployment): ReturnType<typeof loadConfig> {
  const configFile = d.argValue('--config');
  const key = configFile.slice(configFile.lastIndexOf('/') + 1);
  const file = join(tempDir('skein-k8s-'), key);
  writeFileSync(file, d.configMap['data'][key] as string);
  const values: Record<string, string> = { POD_NAMESPACE: 'observability', SKEIN_CLUSTER_ADVERTISE_HOST: '10.1.2.3' };
  for (const [name, e] of d.env) {
    if (typeof e['value'] === 'string') values[name] = (e['value'] as string).replace(/\$\(([A-Z_]+)\)/g, (_, v: string) => values[v] ?? '');
  }
  return loadConfig({ file, env: values, overrides: [{ path: ['storage', 'path'], value: d.argValue('--data-dir') }] });
}

/** Bytes in a Kubernetes quantity (`2Gi`, `500M`, `1024`), read with Skein's own byte-size parser. */
function quantityBytes(quantity: string): number {
  const bytes = parseBytes(`${quantity}B`);
  assert.ok(bytes !== undefined, `${quantity} is a quantity in Ki, Mi, Gi, k, M, G or bytes`);
  return bytes;
}

const selects = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

test('the schema validation reports wrong types and unknown fields, not only missing ones', () => {
  const statefulSet = structuredClone(deployment(BASE).statefulSet);
  assert.deepEqual(schemaProblems(statefulSet), []);
  statefulSet['spec']['replicas'] = 'three';
  statefulSet['spec']['template']['spec']['containers'][0]['readinesProbe'] = { httpGet: { path: '/ready', port: 'http' } };
  statefulSet['spec']['template']['metadata']['labels']['any-label'] = 'is a map entry, not a field';
  const problems = schemaProblems(statefulSet);
  assert.ok(problems.some((p) => p.includes('/spec/replicas') && p.includes('integer')), problems.join('\n'));
  statefulSet['spec']['replicas'] = 3;
  assert.deepEqual(schemaProblems(statefulSet), ['data/spec/template/spec/containers/0/readinesProbe: not a field of the schema']);
  assert.match(schemaProblems({ apiVersion: 'v1', kind: 'Pod' })[0]!, /no schema for v1 Pod/);
});

test('every file under deploy/kubernetes/ is used by its kustomization', () => {
  for (const dir of [BASE, SCALE_OUT]) {
    const kustomization = parseYaml(readFileSync(join(KUBERNETES, dir, 'kustomization.yaml'), 'utf8')) as Doc;
    const used = new Set<string>([
      ...((kustomization['resources'] ?? []) as string[]),
      ...((kustomization['patchesStrategicMerge'] ?? []) as string[]),
      ...((kustomization['configMapGenerator'] ?? []) as Doc[]).flatMap((g) => g['files'] as string[]),
    ]);
    for (const file of readdirSync(join(KUBERNETES, dir)).filter((f) => f !== 'kustomization.yaml')) {
      assert.ok(used.has(file), `deploy/kubernetes/${dir}/${file} is listed in its kustomization.yaml`);
    }
  }
  assert.deepEqual(readdirSync(KUBERNETES).sort(), ['base', 'overlays']);
  assert.deepEqual(readdirSync(join(KUBERNETES, 'overlays')), ['scale-out']);
});

for (const dir of [BASE, SCALE_OUT]) {
  test(`${dir}: renders with kubectl kustomize, and every object is valid against the Kubernetes 1.33 / prometheus-operator 0.65 schemas`, () => {
    const objects = render(dir);
    assert.ok(objects.length >= 5);
    const problems = objects.flatMap((o) => schemaProblems(o).map((p) => `${o['kind']} ${o['metadata']?.['name']}: ${p}`));
    assert.deepEqual(problems, []);
    const names = objects.map((o) => `${o['kind']}/${o['metadata']['name']}`);
    assert.equal(new Set(names).size, names.length, `no object rendered twice: ${names.join(', ')}`);
  });

  test(`${dir}: the services, the ServiceMonitor and any disruption budget select the StatefulSet's pods; the headless service governs it`, () => {
    const d = deployment(dir);
    const labels = d.pod['metadata']['labels'] as Record<string, string>;
    assert.ok(selects(d.statefulSet['spec']['selector']['matchLabels'], labels), 'the StatefulSet selector matches its pod template');
    assert.equal(d.services.length, 2);
    for (const svc of d.services) {
      assert.ok(selects(svc['spec']['selector'], labels), `Service ${svc['metadata']['name']} selects the pods`);
      assert.equal(svc['spec']['type'] ?? 'ClusterIP', 'ClusterIP', `Service ${svc['metadata']['name']} is reachable from inside the cluster only`);
    }
    assert.ok(d.headless, `a Service named ${d.statefulSet['spec']['serviceName']} (the StatefulSet's serviceName)`);
    assert.equal(d.headless['spec']['clusterIP'], 'None', 'the governing service is headless: one DNS record per pod');
    assert.equal(d.headless['spec']['publishNotReadyAddresses'], true, 'a restarting pod keeps its DNS record (in a cluster: stays a peer, the ring does not move)');

    // Each pod scraped once: through one service, not through both.
    const monitorSelector = d.serviceMonitor['spec']['selector']['matchLabels'] as Record<string, string>;
    const scraped = d.services.filter((s) => selects(monitorSelector, s['metadata']['labels']));
    assert.deepEqual(scraped.map((s) => s['metadata']['name']), ['skein'], 'the ServiceMonitor selects the `skein` Service only');
    const endpoints = d.serviceMonitor['spec']['endpoints'] as Doc[];
    assert.equal(endpoints.length, 1);
    assert.equal(endpoints[0]!['path'], '/metrics');
    assert.ok((scraped[0]!['spec']['ports'] as Doc[]).some((p) => p['name'] === endpoints[0]!['port']), `the ServiceMonitor scrapes a port of the Service (${endpoints[0]!['port']})`);
    assert.equal(d.containerPorts.has(endpoints[0]!['port']), true, 'the API port, where /metrics is served');

    for (const pdb of d.disruptionBudgets) assert.ok(selects(pdb['spec']['selector']['matchLabels'], labels), 'the disruption budget covers the pods');
  });

  test(`${dir}: ports are named and numbered consistently: container, services, probes, Skein's listeners`, () => {
    const d = deployment(dir);
    for (const svc of d.services) {
      for (const p of svc['spec']['ports'] as Doc[]) {
        const target = p['targetPort'];
        const port = typeof target === 'string' ? d.containerPorts.get(target) : target;
        assert.ok(port !== undefined, `Service ${svc['metadata']['name']} port ${p['name']} targets a container port (${target})`);
        assert.equal(p['port'], port, `Service ${svc['metadata']['name']} port ${p['name']} is the container's`);
        assert.equal(d.containerPorts.get(p['name']), port, `Service port ${p['name']} has the name of the container port it targets`);
      }
    }
    const config = podConfig(d);
    const portOf = (hostPort: string) => Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
    const hostOf = (hostPort: string) => hostPort.slice(0, hostPort.lastIndexOf(':'));
    assert.equal(portOf(config.server.http_listen_address), d.containerPorts.get('http'), 'server.http_listen_address is the `http` port');
    assert.equal(portOf(config.receivers.otlp.protocols.grpc.endpoint), d.containerPorts.get('otlp-grpc'), 'the OTLP gRPC receiver is the `otlp-grpc` port');
    assert.equal(portOf(config.receivers.otlp.protocols.http.endpoint), d.containerPorts.get('otlp-http'), 'the OTLP HTTP receiver is the `otlp-http` port');
    for (const address of [config.server.http_listen_address, config.receivers.otlp.protocols.grpc.endpoint, config.receivers.otlp.protocols.http.endpoint]) {
      assert.equal(hostOf(address), '0.0.0.0', `${address}: listens on the pod's address, where the Services reach it`);
    }
  });

  test(`${dir}: startup, readiness and liveness probes ask /ready on the API port; the startup probe leaves time for a WAL replay`, () => {
    const d = deployment(dir);
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      const get = d.container[probe]?.['httpGet'];
      assert.ok(get, `the container has a ${probe} over HTTP`);
      assert.equal(get['path'], '/ready', `${probe} asks /ready`);
      assert.equal(get['port'], 'http', `${probe} asks the API port`);
    }
    // Kubernetes' defaults: periodSeconds 10, failureThreshold 3.
    const budget = (probe: Doc) => (probe['periodSeconds'] ?? 10) * (probe['failureThreshold'] ?? 3);
    assert.ok(budget(d.container['startupProbe']) >= 300, 'a WAL replay may take up to 5 minutes before the liveness probe can restart the pod');
    assert.ok(budget(d.container['livenessProbe']) >= 60, 'a busy pod is not restarted for one slow answer');
    assert.ok(d.statefulSet['spec']['template']['spec']['terminationGracePeriodSeconds'] > podConfig(d).server.shutdown_timeout / 1000, 'the pod is given longer than server.shutdown_timeout to stop');
  });

  test(`${dir}: volumes: config where --config reads it, a persistent 20Gi volume where --data-dir and storage.path point, /tmp writable on a read-only root`, () => {
    const d = deployment(dir);
    const mounts = new Map<string, string>((d.container['volumeMounts'] as Doc[]).map((m) => [m['name'] as string, m['mountPath'] as string]));
    const volumes = new Map<string, Doc>((d.pod['spec']['volumes'] as Doc[]).map((v) => [v['name'] as string, v]));
    const claims = d.statefulSet['spec']['volumeClaimTemplates'] as Doc[];
    const claimNames = claims.map((c) => c['metadata']['name'] as string);
    for (const name of mounts.keys()) assert.ok(volumes.has(name) || claimNames.includes(name), `mount ${name} has a volume or a claim template`);

    // kustomize's configMapGenerator names the ConfigMap skein-config-<hash> and rewrites the reference.
    const configMapName = d.configMap['metadata']['name'] as string;
    assert.match(configMapName, /^skein-config-[a-z0-9]+$/, 'the ConfigMap carries a hash of its content: a config change rolls the pods');
    const configFile = d.argValue('--config');
    const configVolume = [...volumes.entries()].find(([, v]) => v['configMap']?.['name'] === configMapName);
    assert.ok(configVolume, `a volume holds ConfigMap ${configMapName}`);
    const configMount = mounts.get(configVolume[0]);
    assert.ok(configMount, 'the config volume is mounted');
    assert.ok(configFile.startsWith(`${configMount}/`), `--config ${configFile} is under the config mount ${configMount}`);
    assert.ok(configFile.slice(configMount.length + 1) in d.configMap['data'], `the ConfigMap has the key ${configFile.slice(configMount.length + 1)}`);

    const dataDir = d.argValue('--data-dir');
    const dataClaim = claims.find((c) => mounts.get(c['metadata']['name']) === dataDir);
    assert.ok(dataClaim, `--data-dir ${dataDir} is a persistent volume from a claim template (the WAL must outlive the pod)`);
    assert.equal(dataClaim['spec']['resources']['requests']['storage'], '20Gi');
    assert.equal(podConfig(d).storage.path, dataDir, 'storage.path and --data-dir agree');

    assert.equal(d.container['securityContext']['readOnlyRootFilesystem'], true);
    const tmp = [...mounts.entries()].find(([, path]) => path === '/tmp');
    assert.ok(tmp, '/tmp is mounted: the query engine spills there');
    assert.ok(volumes.get(tmp[0])?.['emptyDir'], '/tmp is an emptyDir');
    assert.ok(quantityBytes(volumes.get(tmp[0])!['emptyDir']['sizeLimit']) > 0, '/tmp has a size limit');
  });

  test(`${dir}: the pod meets the "restricted" Pod Security Standard and holds no API token`, () => {
    const d = deployment(dir);
    const podSecurity = d.pod['spec']['securityContext'] as Doc;
    const security = d.container['securityContext'] as Doc;
    assert.equal(podSecurity['runAsNonRoot'], true);
    assert.ok(podSecurity['runAsUser'] > 0, 'a non-root user id');
    assert.equal(podSecurity['seccompProfile']['type'], 'RuntimeDefault');
    assert.equal(security['allowPrivilegeEscalation'], false);
    assert.deepEqual(security['capabilities'], { drop: ['ALL'] });
    assert.notEqual(security['privileged'], true);
    assert.equal(d.pod['spec']['hostNetwork'] ?? false, false);
    for (const volume of d.pod['spec']['volumes'] as Doc[]) assert.equal(volume['hostPath'], undefined, `volume ${volume['name']} is no hostPath`);
    assert.equal(d.pod['spec']['automountServiceAccountToken'], false, 'Skein does not talk to the Kubernetes API');
    assert.equal(d.pod['spec']['enableServiceLinks'], false, 'no SKEIN_SERVICE_HOST, SKEIN_PORT… next to Skein\'s own SKEIN_* variables');
  });

  test(`${dir}: memory: request = limit, and the memory_limiter refuses ingest well below it, above what the engine and the head may hold`, () => {
    const d = deployment(dir);
    const resources = d.container['resources'] as Doc;
    const limit = quantityBytes(resources['limits']['memory']);
    assert.equal(quantityBytes(resources['requests']['memory']), limit, 'memory request = limit: the pod is not the first evicted under node pressure');
    assert.ok(resources['requests']['cpu'], 'a CPU request, so the scheduler places the pod where it runs');

    const config = podConfig(d);
    assert.ok(config.pipeline.processors.includes('memory_limiter'), 'the pipeline starts with the memory_limiter');
    const limiter = config.processors['memory_limiter'] as MemoryLimiterConfig;
    assert.ok(limiter.limit_mib !== undefined, 'limit_mib is set: a percentage would be of the node\'s memory where the cgroup limit cannot be read');
    // As the limiter computes them in the pod, whose cgroup limit is the container's.
    const { hardBytes, softBytes } = memoryLimits(limiter, limit);
    assert.ok(hardBytes <= 0.8 * limit, `the limiter's limit (${hardBytes / 2 ** 20} MiB) is at most 80 % of the container's (${limit / 2 ** 20} MiB): room for what arrives between two checks`);
    assert.ok(hardBytes >= 0.6 * limit, `the limiter's limit (${hardBytes / 2 ** 20} MiB) uses most of the container's (${limit / 2 ** 20} MiB)`);
    const bounded = config.storage.engine.memory_limit + config.limits.max_head_bytes_pending;
    assert.ok(softBytes > bounded, `the soft limit (${softBytes / 2 ** 20} MiB) is above the query engine's memory and the head waiting for a block (${bounded / 2 ** 20} MiB)`);
  });
}

test('base: one Skein on its local volume, 30 days\' retention, blocks bounded by the volume\'s size', () => {
  const d = deployment(BASE);
  assert.equal(d.statefulSet['spec']['replicas'], 1);
  assert.deepEqual(d.disruptionBudgets, [], 'no disruption budget for a single pod: it would block every node drain');
  assert.deepEqual([...d.env.keys()], []);
  const config = podConfig(d);
  assert.equal(config.storage.backend, 'local');
  assert.equal(config.storage.retention, 30 * 86_400_000);
  assert.equal(config.cluster.dns.name, '');
  assert.deepEqual(config.cluster.peers, []);
  const volume = d.statefulSet['spec']['volumeClaimTemplates'][0]['spec']['resources']['requests']['storage'] as string;
  const gi = /^(\d+)Gi$/.exec(volume);
  assert.ok(gi, `the volume is sized in Gi (${volume})`);
  const volumeBytes = Number(gi[1]) * 2 ** 30;
  assert.ok(config.storage.max_bytes > 0 && config.storage.max_bytes <= 0.85 * volumeBytes,
    `storage.max_bytes (${config.storage.max_bytes / 2 ** 30} GiB) keeps the blocks within the ${volume} volume, with room for the WAL and heads`);
});

test('scale-out: three pods sharing a bucket, peers from the headless service, credentials from a Secret, one pod down at a time', () => {
  const d = deployment(SCALE_OUT);
  assert.equal(d.statefulSet['spec']['replicas'], 3);
  assert.equal(d.statefulSet['spec']['podManagementPolicy'], 'Parallel', 'peers start side by side');
  assert.equal(d.disruptionBudgets.length, 1);
  assert.equal(d.disruptionBudgets[0]!['spec']['maxUnavailable'], 1);

  for (const name of d.env.keys()) {
    if (name.startsWith('SKEIN_')) assert.ok(ENV_OVERRIDES.some((o) => o.env === name), `${name} is an environment override Skein knows (src/config/load.ts)`);
  }
  assert.equal(d.env.get('SKEIN_CLUSTER_ADVERTISE_HOST')?.['valueFrom']?.['fieldRef']?.['fieldPath'], 'status.podIP', 'each pod advertises its own IP');
  const dnsName = d.env.get('SKEIN_CLUSTER_DNS_NAME')?.['value'] as string;
  assert.ok(dnsName?.startsWith(`${d.statefulSet['spec']['serviceName']}.`), `SKEIN_CLUSTER_DNS_NAME (${dnsName}) names the headless service`);

  const config = podConfig(d);
  assert.equal(config.storage.backend, 's3');
  assert.notEqual(config.storage.s3.bucket, '');
  assert.equal(config.storage.retention, 30 * 86_400_000);
  assert.equal(config.cluster.advertise_host, '10.1.2.3');
  assert.equal(config.cluster.dns.name, 'skein-headless.observability.svc.cluster.local');
  assert.equal(config.cluster.dns.otlp_grpc_port, d.containerPorts.get('otlp-grpc'), 'cluster.dns.otlp_grpc_port is the peers\' `otlp-grpc` port');
  assert.equal(config.cluster.dns.http_port, d.containerPorts.get('http'), 'cluster.dns.http_port is the peers\' `http` port');
  assert.equal(config.storage.s3.access_key_id, '', 'no credentials in the ConfigMap: they come from the Secret through the AWS SDK chain');
  assert.equal(config.storage.s3.secret_access_key, '');
  for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) assert.ok(d.env.get(key)?.['valueFrom']?.['secretKeyRef'], `${key} comes from a Secret`);
});

test('base: its config is examples/skein.production.yaml but for the retention, the size bound and the memory limiter, so the two do not drift apart', () => {
  const base = parseYaml(deployment(BASE).configMap['data']['skein.yaml'] as string) as Doc;
  const production = parseYaml(readFileSync(join(ROOT, 'examples', 'skein.production.yaml'), 'utf8')) as Doc;
  assert.equal(base['storage']['retention'], '30d', 'the Kubernetes plan keeps 30 days');
  production['storage']['retention'] = base['storage']['retention'];
  production['processors']['memory_limiter'] = base['processors']['memory_limiter'];
  production['storage']['max_bytes'] = base['storage']['max_bytes'];
  assert.deepEqual(base, production);
});

test('scale-out: its config is the base\'s but for storage and cluster, so the two do not drift apart', () => {
  const raw = (d: Deployment) => parseYaml(d.configMap['data']['skein.yaml'] as string) as Doc;
  const { storage: _baseStorage, cluster: baseCluster, ...base } = raw(deployment(BASE));
  const { storage: _storage, cluster, ...scaleOut } = raw(deployment(SCALE_OUT));
  assert.equal(baseCluster, undefined);
  assert.ok(cluster);
  assert.deepEqual(scaleOut, base);
});

test('the overlay docs/deploy.md shows renders over the base and validates: namespace, registry image, larger volume, ServiceMonitor label', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'deploy.md'), 'utf8');
  const files = [...doc.matchAll(/```\n# my-skein\/(\S+)\n([\s\S]*?)```/g)].map((m) => ({ name: m[1]!, text: m[2]! }));
  assert.deepEqual(files.map((f) => f.name).sort(), ['kustomization.yaml', 'patch.yaml']);
  // Laid out as the example says: the overlay beside a checkout of Skein.
  const dir = tempDir('skein-overlay-');
  symlinkSync(ROOT, join(dir, 'skein'));
  mkdirSync(join(dir, 'my-skein'));
  for (const { name, text } of files) writeFileSync(join(dir, 'my-skein', name), text);

  const objects = render(join(dir, 'my-skein'));
  assert.deepEqual(objects.flatMap((o) => schemaProblems(o).map((p) => `${o['kind']} ${o['metadata']?.['name']}: ${p}`)), []);
  assert.deepEqual(objects.map((o) => o['kind']).sort(), render(BASE).map((o) => o['kind']).sort(), 'the base\'s objects, no more');
  for (const o of objects) assert.equal(o['metadata']['namespace'], 'observability', `${o['kind']} ${o['metadata']['name']} in the namespace`);
  const statefulSet = objects.find((o) => o['kind'] === 'StatefulSet')!;
  assert.equal(statefulSet['spec']['template']['spec']['containers'][0]['image'], 'registry.example.com/skein:0.1.0');
  assert.equal(statefulSet['spec']['volumeClaimTemplates'][0]['spec']['resources']['requests']['storage'], '100Gi');
  assert.equal(objects.find((o) => o['kind'] === 'ServiceMonitor')!['metadata']['labels']['release'], 'kube-prometheus-stack');
  const basePod = structuredClone(render(BASE).find((o) => o['kind'] === 'StatefulSet')!['spec']['template'] as Doc);
  basePod['spec']['containers'][0]['image'] = 'registry.example.com/skein:0.1.0';
  assert.deepEqual(statefulSet['spec']['template'], basePod, 'the pod is otherwise the base\'s');
});

test('the pod runs the image as deploy/Dockerfile builds it: its user, its command, its ports, its data volume', () => {
  const dockerfile = readFileSync(join(ROOT, 'deploy', 'Dockerfile'), 'utf8');
  const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const instruction = (name: string): string => {
    const found = [...finalStage.matchAll(new RegExp(`^${name}\\s+(.+)$`, 'gm'))].at(-1)?.[1]?.trim();
    assert.ok(found, `the Dockerfile's last stage has ${name}`);
    return found;
  };
  const user = instruction('USER');
  // The node images' `node` user is 1000; a number is itself.
  const uid = user === 'node' ? 1000 : Number(user.split(':')[0]);
  for (const dir of [BASE, SCALE_OUT]) {
    const d = deployment(dir);
    assert.equal(d.pod['spec']['securityContext']['runAsUser'], uid, `${dir}: runAsUser is the image's USER ${user}`);
    assert.deepEqual(d.container['args'], JSON.parse(instruction('CMD')), `${dir}: the container's args are the image's CMD`);
    assert.deepEqual([...d.containerPorts.values()].sort(), instruction('EXPOSE').split(/\s+/).map(Number).sort(), `${dir}: the container's ports are the ones the image exposes`);
    assert.ok((JSON.parse(instruction('VOLUME')) as string[]).includes(d.argValue('--data-dir')), `${dir}: the data directory is the image's volume`);
  }
});
