// Runs a server as a container with `--read-only --tmpfs /tmp` would: in its own user and mount
// namespaces, the root filesystem read-only and only the temporary directory writable.
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';

/** A `wrap` for startSkein: keeps TMPDIR writable (a mount of its own), then remounts `/` read-only. */
export const READ_ONLY_ROOT = ['unshare', '--user', '--map-root-user', '--mount', 'sh', '-c', 'mount --bind "$0" "$0" && mount -o remount,bind,ro / && exec "$@"', tmpdir()];

const probe = spawnSync(READ_ONLY_ROOT[0]!, [...READ_ONLY_ROOT.slice(1), 'sh', '-c', `! touch /skein-probe 2>/dev/null && touch "${tmpdir()}/skein-probe"`]);

/** The `skip` option of a test that needs READ_ONLY_ROOT: false where it works, else why not. */
export const readOnlyRootUnavailable: false | string =
  probe.status === 0 ? false : 'needs unshare with user and mount namespaces to make the root filesystem read-only';
