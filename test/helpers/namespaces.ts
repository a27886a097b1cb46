// Runs a server in its own user and mount namespaces (util-linux `unshare`, no privileges
// needed), for what only a filesystem can show: a root mounted read-only as a container's
// `--read-only --tmpfs /tmp` gives, or a data directory on a small tmpfs that fills up.
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';

const UNSHARE = ['unshare', '--user', '--map-root-user', '--mount'];

/** A `wrap` for startSkein: keeps TMPDIR writable (a mount of its own), then remounts `/` read-only. */
export const READ_ONLY_ROOT = [...UNSHARE, 'sh', '-c', 'mount --bind "$0" "$0" && mount -o remount,bind,ro / && exec "$@"', tmpdir()];

/** A `wrap` for startSkein: a 16 MiB tmpfs mounted on `mountPoint`, seen only by the server (the test reaches it through /proc/<pid>/root). */
export function smallTmpfsAt(mountPoint: string): string[] {
  return [...UNSHARE, 'sh', '-c', 'mount -t tmpfs -o size=16m skein-full-disk "$0" && exec "$@"', mountPoint];
}

const readOnlyProbe = spawnSync(READ_ONLY_ROOT[0]!, [...READ_ONLY_ROOT.slice(1), 'sh', '-c', `! touch /skein-probe 2>/dev/null && touch "${tmpdir()}/skein-probe"`]);
const tmpfsProbe = spawnSync(UNSHARE[0]!, [...UNSHARE.slice(1), 'sh', '-c', 'mount -t tmpfs -o size=64k probe "$0"', tmpdir()]);

/** The `skip` option of a test that needs READ_ONLY_ROOT: false where it works, else why not. */
export const readOnlyRootUnavailable: false | string =
  readOnlyProbe.status === 0 ? false : 'needs unshare with user and mount namespaces to make the root filesystem read-only';

/** The `skip` option of a test that mounts a small tmpfs (smallTmpfsAt, or its own): false where it works, else why not. */
export const tmpfsUnavailable: false | string =
  tmpfsProbe.status === 0 ? false : 'needs unshare with user and mount namespaces to mount a small tmpfs';
