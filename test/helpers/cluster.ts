// Several real Skein processes sharing one S3-protocol bucket, as a cluster
// (docs/scale-out.md). Their loopback ports are reserved before any starts, so
// that one config lists every peer; each instance gets its addresses from the
// SKEIN_*_ADDR environment overrides, as a container would, and its own data
// directory (its WAL), so it can be SIGKILLed and started again on the same
// ports and directory. The e2e cluster tests and the cluster benchmark share it.
import { parse, stringify } from 'yaml';
import { reservePorts } from './ports.js';
import { startS3Server, type S3Server } from './s3.js';
import { startSkein, tempDir, type ReadyTls, type SkeinProcess } from './skein-process.js';

export interface InstancePorts {
  otlpGrpc: number;
  otlpHttp: number;
  http: number;
}

export interface ClusterInstance {
  readonly index: number;
  readonly ports: InstancePorts;
  readonly dataDir: string;
  /** `127.0.0.1:<otlpGrpc>`: the peer's id, where the others forward its spans. */
  readonly grpcAddr: string;
  /** Base URL of the query API (`http://127.0.0.1:<http>`). */
  readonly url: string;
  readonly otlpHttpUrl: string;
  /** The running process; undefined while the instance is killed or stopped. */
  proc: SkeinProcess | undefined;
}

export interface ClusterOptions {
  /** Instances (default 3). */
  size?: number;
  /** The bucket; by default a fresh s3rver, stopped by close(). */
  s3?: S3Server;
  /** Merged over the cluster's own config (plain objects merge key by key; anything else replaces). */
  config?: Record<string, unknown>;
  /** storage.blocklist_poll_interval (default 1s: blocks become visible everywhere quickly). */
  pollInterval?: string;
  /** Which instance is cluster.compactor (default 0): s3rver has no conditional writes, so no lease. */
  compactor?: number;
  /** Per instance start-up deadline (default 30 s). */
  timeoutMs?: number;
  /** When the instances' API speaks TLS: how their /ready is asked (use each proc's url, which says https). */
  tls?: ReadyTls;
}

export interface Cluster {
  readonly instances: readonly ClusterInstance[];
  readonly s3: S3Server;
  /** The config every instance runs with (its own addresses come from the environment). */
  readonly configYaml: string;
  /** The running process of instance i; throws when it is down. */
  proc(i: number): SkeinProcess;
  /** SIGKILL (a crash): the WAL and forward queues stay in its data directory. */
  kill(i: number): Promise<void>;
  /** SIGTERM and wait (SIGKILL after a grace if it does not exit). */
  stop(i: number): Promise<void>;
  /** Starts instance i again, same ports, same data directory. */
  start(i: number): Promise<SkeinProcess>;
  /** Stops every instance, and the bucket when the cluster started it. */
  close(): Promise<void>;
}

/** Time a SIGTERMed instance gets before it is killed, so that a stuck shutdown never hangs a test. */
const STOP_GRACE_MS = 15_000;

/** Deep merge of config mappings: `over`'s plain objects merge into `base`'s, anything else replaces. */
export function mergeConfig(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] = isMapping(prev) && isMapping(value) ? mergeConfig(prev, value) : value;
  }
  return out;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The config the instances share: the bucket, a short poll interval, every peer, one named compactor. */
export function clusterConfig(s3: S3Server, ports: readonly InstancePorts[], opts: Pick<ClusterOptions, 'config' | 'pollInterval' | 'compactor'> = {}): Record<string, unknown> {
  const compactor = opts.compactor ?? 0;
  if (ports[compactor] === undefined) throw new Error(`compactor ${compactor} is not one of the ${ports.length} instances`);
  const base = {
    // A stuck shutdown must not hold a test up: everything acknowledged is in the WAL anyway.
    server: { shutdown_timeout: '5s' },
    storage: {
      ...(parse(s3.storageYaml({ indent: 0 })) as Record<string, unknown>),
      blocklist_poll_interval: opts.pollInterval ?? '1s',
    },
    cluster: {
      peers: ports.map((p) => ({ otlp_grpc: `127.0.0.1:${p.otlpGrpc}`, http: `127.0.0.1:${p.http}` })),
      compactor: `127.0.0.1:${ports[compactor].otlpGrpc}`,
      // A killed peer refuses connections at once; this only bounds a peer that hangs.
      peer_query_timeout: '3s',
    },
  };
  return mergeConfig(base, opts.config ?? {});
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const size = opts.size ?? 3;
  const ownS3 = opts.s3 === undefined;
  const s3 = opts.s3 ?? (await startS3Server());
  const flat = await reservePorts(size * 3);
  const ports = Array.from({ length: size }, (_, i): InstancePorts => ({ otlpGrpc: flat[3 * i]!, otlpHttp: flat[3 * i + 1]!, http: flat[3 * i + 2]! }));
  const configYaml = stringify(clusterConfig(s3, ports, opts));
  const instances: ClusterInstance[] = ports.map((p, index) => ({
    index,
    ports: p,
    dataDir: tempDir(`skein-cluster-${index}-`),
    grpcAddr: `127.0.0.1:${p.otlpGrpc}`,
    url: `http://127.0.0.1:${p.http}`,
    otlpHttpUrl: `http://127.0.0.1:${p.otlpHttp}`,
    proc: undefined,
  }));

  const instance = (i: number): ClusterInstance => {
    const inst = instances[i];
    if (!inst) throw new Error(`no instance ${i} in a cluster of ${size}`);
    return inst;
  };
  const start = async (i: number): Promise<SkeinProcess> => {
    const inst = instance(i);
    if (inst.proc) throw new Error(`instance ${i} is already running`);
    inst.proc = await startSkein({
      dataDir: inst.dataDir,
      configYaml,
      timeoutMs: opts.timeoutMs ?? 30_000,
      ...(opts.tls && { tls: opts.tls }),
      env: {
        SKEIN_HTTP_ADDR: `127.0.0.1:${inst.ports.http}`,
        SKEIN_OTLP_GRPC_ADDR: inst.grpcAddr,
        SKEIN_OTLP_HTTP_ADDR: `127.0.0.1:${inst.ports.otlpHttp}`,
      },
    });
    return inst.proc;
  };
  const kill = async (i: number): Promise<void> => {
    const inst = instance(i);
    await inst.proc?.kill();
    inst.proc = undefined;
  };
  const stop = async (i: number): Promise<void> => {
    const inst = instance(i);
    const proc = inst.proc;
    if (!proc) return;
    let timer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([
      proc.stop().then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), STOP_GRACE_MS);
      }),
    ]).finally(() => clearTimeout(timer));
    if (!stopped) await proc.kill();
    inst.proc = undefined;
  };
  const close = async (): Promise<void> => {
    await Promise.all(instances.map((_, i) => stop(i)));
    if (ownS3) await s3.stop();
  };

  try {
    await Promise.all(instances.map((_, i) => start(i)));
  } catch (err) {
    await Promise.all(instances.map((_, i) => kill(i)));
    if (ownS3) await s3.stop();
    throw err;
  }
  return {
    instances,
    s3,
    configYaml,
    proc(i) {
      const proc = instance(i).proc;
      if (!proc) throw new Error(`instance ${i} is not running`);
      return proc;
    },
    kill,
    stop,
    start,
    close,
  };
}
