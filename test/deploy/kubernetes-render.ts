// Renders a kustomization under deploy/kubernetes/ as `kubectl apply -k` would, with
// `kubectl kustomize`: Debian's kubernetes-client (kubectl 1.20, its kustomize v2.0.3) in
// CI where no other kubectl is installed; later ones render the same objects. KUBECTL
// names another binary.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

// dist/test/deploy → repository root
export const KUBERNETES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'deploy', 'kubernetes');
const KUBECTL = process.env['KUBECTL'] || 'kubectl';

/** Manifests are loose trees, read field by field and checked as they are read. */
export type Doc = Record<string, any>;

const renders = new Map<string, Doc[]>();

/** The objects `kubectl kustomize deploy/kubernetes/<dir>` (or an absolute `dir`) renders, rendered once per process. */
export function render(dir: string): Doc[] {
  const cached = renders.get(dir);
  if (cached) return cached;
  let out: string;
  try {
    out = execFileSync(KUBECTL, ['kustomize', isAbsolute(dir) ? dir : join(KUBERNETES, dir)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new Error(
        `${KUBECTL} not found: the Kubernetes manifests are rendered with \`kubectl kustomize\`. ` +
          "Install Debian's kubernetes-client (apt-get install kubernetes-client, as .ci/run does) or set KUBECTL to a kubectl binary",
      );
    }
    throw new Error(`${KUBECTL} kustomize ${isAbsolute(dir) ? dir : `deploy/kubernetes/${dir}`} failed: ${e.stderr?.trim() || e.message}`);
  }
  const objects = parseAllDocuments(out)
    .map((d, i) => {
      assert.deepEqual(d.errors.map((e) => e.message), [], `rendered document ${i + 1} of ${dir} is valid YAML`);
      return d.toJS() as Doc | null;
    })
    .filter((d): d is Doc => d !== null);
  renders.set(dir, objects);
  return objects;
}
