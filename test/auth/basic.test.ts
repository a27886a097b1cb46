// Basic auth from an htpasswd file: bcrypt entries only (any other kind refused at load,
// naming its line), the user's tenants and rights from the config, wrong and unknown
// users refused alike, the file read again when it changes, and proven passwords cached
// (a changed hash in the file is checked again).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { BasicUsers, parseHtpasswd } from '../../src/auth/basic.js';
import { isFailure } from '../../src/auth/authenticator.js';
import { validateConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { tempDir } from '../helpers/skein-process.js';
import { waitFor } from '../helpers/poll.js';

/** An htpasswd -B line; `prefix` $2y$ is what htpasswd writes, bcryptjs writes $2b$. Cost 4 keeps tests quick. */
export function htpasswdLine(user: string, password: string, prefix: '$2y$' | '$2a$' | '$2b$' = '$2y$'): string {
  return `${user}:${prefix}${bcrypt.hashSync(password, 4).slice(4)}`;
}

const basicOf = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');

describe('htpasswd files', () => {
  test('bcrypt entries of every prefix are read; comments and blank lines skipped', () => {
    const users = parseHtpasswd(['# made with htpasswd -B', htpasswdLine('ann', 'x', '$2y$'), '', htpasswdLine('bob', 'y', '$2a$'), htpasswdLine('cy', 'z', '$2b$')].join('\n'));
    assert.deepEqual([...users.keys()], ['ann', 'bob', 'cy']);
  });

  test('other hash kinds are refused, naming the line, the user, the kind and htpasswd -B', () => {
    const cases: Array<[string, RegExp]> = [
      ['ann:$apr1$abc$0123456789abcdefghijkl', /line 2 \(user "ann"\): an MD5 entry \(\$apr1\$, htpasswd -m\) is not accepted.*htpasswd -B/],
      ['ann:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=', /SHA-1 entry/],
      ['ann:plain-text', /crypt or plain-text entry/],
      ['ann:$2y$05$tooshort', /malformed bcrypt entry/],
      ['no-colon-here', /line 2: expected user:hash/],
    ];
    for (const [line, message] of cases) assert.throws(() => parseHtpasswd(`${htpasswdLine('zed', 'p')}\n${line}\n`), message, line);
  });
});

describe('BasicUsers', () => {
  const dir = tempDir('skein-basic-');
  const file = join(dir, 'htpasswd');
  writeFileSync(file, [htpasswdLine('ann', 'ann-password'), htpasswdLine('ops', 'ops-password'), htpasswdLine('drifter', 'drifter-password')].join('\n') + '\n');
  const config = validateConfig({
    auth: {
      basic: {
        htpasswd_file: file,
        tenants: { ann: 'a', ops: ['a', 'b'] },
        rights: { ops: ['admin'] },
        default_rights: ['write', 'read'],
      },
    },
  }).auth.basic;
  const logs: string[] = [];
  const users = new BasicUsers(config, createLogger('info', { write: (line: string) => void logs.push(line) }));
  after(() => users.close());

  test("the right password gives the user's tenants and rights", async () => {
    const ann = await users.authenticate(basicOf('ann', 'ann-password'));
    assert.ok(!isFailure(ann));
    assert.deepEqual([ann.subject, ann.tenants, [...ann.rights], ann.peer], ['ann', ['a'], ['write', 'read'], false]);
    const ops = await users.authenticate(basicOf('ops', 'ops-password'));
    assert.ok(!isFailure(ops));
    assert.deepEqual([ops.tenants, [...ops.rights]], [['a', 'b'], ['admin']]);
    // Again, from the cache: the same answer.
    assert.deepEqual(await users.authenticate(basicOf('ann', 'ann-password')), ann);
  });

  test('a wrong password and an unknown user get the same 401; a malformed credential a 401 of its own', async () => {
    const wrong = await users.authenticate(basicOf('ann', 'nope'));
    const unknown = await users.authenticate(basicOf('mallory', 'ann-password'));
    assert.deepEqual(wrong, { status: 401, message: 'the user name or password is not valid' });
    assert.deepEqual(unknown, wrong);
    assert.deepEqual(await users.authenticate(Buffer.from('no colon').toString('base64')), { status: 401, message: 'the Basic credential is not base64 of user:password' });
  });

  test('a user with a good password but no tenant is refused with 403 naming it', async () => {
    assert.deepEqual(await users.authenticate(basicOf('drifter', 'drifter-password')), { status: 403, message: 'user "drifter" has no tenant: list it under auth.basic.tenants' });
  });

  test('a changed file is read again: the new password works, the old (even cached) does not; a broken edit keeps the last good file', async () => {
    assert.ok(!isFailure(await users.authenticate(basicOf('ann', 'ann-password'))));
    const good = [htpasswdLine('ann', 'new-password'), htpasswdLine('ops', 'ops-password')];
    writeFileSync(file, good.join('\n') + '\n');
    await waitFor('the new password to be accepted', async () => !isFailure(await users.authenticate(basicOf('ann', 'new-password'))));
    assert.deepEqual(await users.authenticate(basicOf('ann', 'ann-password')), { status: 401, message: 'the user name or password is not valid' });
    writeFileSync(file, 'ann:$apr1$abc$0123456789abcdefghijkl\n');
    const refused = await waitFor('the broken edit to be refused', () => logs.find((l) => l.includes('could not be used')));
    assert.match(refused, /MD5 entry/);
    assert.ok(!isFailure(await users.authenticate(basicOf('ann', 'new-password'))));
    const hashes = good.map((line) => line.slice(line.indexOf(':') + 1));
    for (const secret of ['ann-password', 'new-password', 'ops-password', ...hashes]) assert.ok(!logs.join('\n').includes(secret), `the logs show ${secret}`);
  });
});
