// Validates rendered Kubernetes objects against the API's JSON schemas, as the API server
// would, offline. The schemas are those `kubernetes-models` generates from the Kubernetes
// OpenAPI spec (4.5.x: Kubernetes v1.33.0) and, for the ServiceMonitor, those
// `@kubernetes-models/prometheus-operator` generates from the operator's CRDs (4.4.x:
// prometheus-operator v0.65.1).
//
// Those schemas, like the OpenAPI spec, do not forbid unknown fields, while the API server
// drops them (or, with kubectl's default strict field validation, refuses the object): a
// misspelt `readinesProbe` would pass the schema and configure nothing. So the validation
// also reports every field the schema does not know. The compiled validators read each
// property their schema defines, and enumerate the keys of maps (labels, ConfigMap data,
// resource quantities); watching what they read tells the known fields from the rest.
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';

interface SchemaModel {
  readonly apiVersion: string;
  readonly kind: string;
  readonly prototype: { validate(): void };
}

/** The kinds the manifests may hold; another kind fails validation until it is added here. */
const MODELS: readonly SchemaModel[] = [ConfigMap, Service, StatefulSet, PodDisruptionBudget, ServiceMonitor];

/** What is wrong with one rendered object, one line per problem; empty when it is valid. */
export function schemaProblems(object: Record<string, unknown>): string[] {
  const model = MODELS.find((m) => m.apiVersion === object['apiVersion'] && m.kind === object['kind']);
  if (!model) return [`no schema for ${String(object['apiVersion'])} ${String(object['kind'])} (add its model to test/deploy/kubernetes-schemas.ts)`];
  const read = new WeakMap<object, Set<PropertyKey> | 'all'>();
  try {
    // The models' validate() checks `this`: hand it the object, watched, instead of a copy.
    model.prototype.validate.call(watched(object, read));
  } catch (err) {
    return [(err as Error).message];
  }
  return unknownFields(object, read, '');
}

/** A view of `value` that records, per object, which keys were read (or that all were, when enumerated). */
function watched(value: unknown, read: WeakMap<object, Set<PropertyKey> | 'all'>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const note = (target: object, key: PropertyKey): void => {
    const seen = read.get(target) ?? new Set<PropertyKey>();
    if (seen !== 'all') read.set(target, seen.add(key));
  };
  return new Proxy(value, {
    get: (target, key, receiver) => {
      note(target, key);
      return watched(Reflect.get(target, key, receiver), read);
    },
    has: (target, key) => {
      note(target, key);
      return Reflect.has(target, key);
    },
    getOwnPropertyDescriptor: (target, key) => {
      note(target, key);
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
    ownKeys: (target) => {
      read.set(target, 'all');
      return Reflect.ownKeys(target);
    },
  });
}

function unknownFields(value: unknown, read: WeakMap<object, Set<PropertyKey> | 'all'>, path: string): string[] {
  if (typeof value !== 'object' || value === null) return [];
  if (Array.isArray(value)) return value.flatMap((item, i) => unknownFields(item, read, `${path}/${i}`));
  const seen = read.get(value);
  return Object.entries(value).flatMap(([key, child]) =>
    seen === 'all' || seen?.has(key) ? unknownFields(child, read, `${path}/${key}`) : [`data${path}/${key}: not a field of the schema`],
  );
}
