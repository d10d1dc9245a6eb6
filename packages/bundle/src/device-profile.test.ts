import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { DeviceProfileError } from './errors.js';
import { withTempDir } from './fixtures.test.helpers.js';
import { defaultProfilesDir, listDeviceProfiles, loadDeviceProfile, validateDeviceProfile } from './device-profile.js';

describe('device profiles', () => {
  it('validates every file in devices/', async () => {
    const dir = defaultProfilesDir();
    const files = (await readdir(dir)).filter((f) => f.endsWith('.json'));
    assert.ok(files.length >= 5, `found ${files.join(', ')} in ${dir}`);
    for (const file of files) {
      const profile = validateDeviceProfile(JSON.parse(await readFile(join(dir, file), 'utf8')));
      assert.equal(`${profile.name}.json`, file);
      assert.ok(profile.notes.length > 80, `${file} explains its choices`);
    }
    const names = (await listDeviceProfiles()).map((p) => p.name);
    for (const expected of ['browser-wasm', 'jetson-orin-nano', 'raspberry-pi-4', 'raspberry-pi-5', 'x86-64-cpu']) {
      assert.ok(names.includes(expected), expected);
    }
  });

  it('loads by name and by path with the documented choices', async () => {
    const pi4 = await loadDeviceProfile('raspberry-pi-4');
    assert.equal(pi4.arch, 'arm64');
    assert.equal(pi4.precision, 'int8');
    assert.equal(pi4.threads.intra, 4);
    assert.deepEqual(pi4.executionProviders.map((p) => p.name), ['cpu']);
    const jetson = await loadDeviceProfile(join(defaultProfilesDir(), 'jetson-orin-nano.json'));
    assert.deepEqual(jetson.executionProviders.map((p) => p.name), ['tensorrt', 'cuda', 'cpu']);
    assert.equal(jetson.precision, 'fp16');
    assert.equal(jetson.maxOpset, 17);
    assert.equal((await loadDeviceProfile('browser-wasm')).arch, 'wasm32');
  });

  it('names the known profiles when one is missing, and rejects invalid or misnamed files', async () => {
    await assert.rejects(loadDeviceProfile('raspberry-pi-9'), (error: unknown) => {
      assert.ok(error instanceof DeviceProfileError);
      assert.match(error.message, /raspberry-pi-9 not found.*known: .*raspberry-pi-4/);
      return true;
    });
    await withTempDir(async (dir) => {
      const pi4 = await loadDeviceProfile('raspberry-pi-4');
      await writeFile(join(dir, 'renamed.json'), JSON.stringify(pi4));
      await assert.rejects(loadDeviceProfile('renamed', { profilesDir: dir }), /file name must match/);
      await writeFile(join(dir, 'bad.json'), JSON.stringify({ ...pi4, name: 'bad', arch: 'mips', threads: { intra: 0, inter: 1 } }));
      await assert.rejects(loadDeviceProfile('bad', { profilesDir: dir }), /\/arch.*\/threads\/intra/);
      await assert.rejects(listDeviceProfiles({ profilesDir: dir }), DeviceProfileError);
    });
    assert.throws(
      () => validateDeviceProfile({ ...{ executionProviders: [{ name: 'cpu' }, { name: 'cpu' }] } }),
      (error: unknown) => error instanceof DeviceProfileError && error.violations.length > 0,
    );
  });

  it('rejects duplicate execution providers', async () => {
    const pi4 = await loadDeviceProfile('raspberry-pi-4');
    assert.throws(
      () => validateDeviceProfile({ ...pi4, executionProviders: [{ name: 'cpu' }, { name: 'cpu' }] }),
      /duplicate provider cpu/,
    );
  });
});
