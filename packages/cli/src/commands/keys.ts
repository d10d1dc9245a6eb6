import { access } from 'node:fs/promises';
import type { Argv, CommandModule } from 'yargs';
import { generateKeyPair, saveKeyPair } from '@edgeloop/bundle';
import { emit, UsageError } from '../output.js';

interface GenerateArgs {
  out: string;
  force: boolean;
  json: boolean;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

const generate: CommandModule<object, GenerateArgs> = {
  command: 'generate',
  describe: 'Create an ed25519 signing key pair (<out>.key, mode 0600, and <out>.pub)',
  builder: (y) =>
    y
      .option('out', {
        alias: 'o',
        type: 'string',
        default: 'edgeloop-signing',
        describe: 'Path prefix: writes <out>.key and <out>.pub',
      })
      .option('force', { type: 'boolean', default: false, describe: 'Overwrite existing key files' })
      .option('json', { type: 'boolean', default: false })
      .example('$0 keys generate -o keys/release', 'Writes keys/release.key and keys/release.pub'),
  handler: async (args) => {
    for (const path of [`${args.out}.key`, `${args.out}.pub`]) {
      if (!args.force && (await exists(path))) throw new UsageError(`${path} already exists (use --force to overwrite)`);
    }
    const pair = generateKeyPair();
    const paths = await saveKeyPair(args.out, pair);
    emit(args, { keyId: pair.keyId, ...paths }, (r) =>
      [
        `key id      ${r.keyId}`,
        `private key ${r.privateKeyPath} (keep secret; signs bundles)`,
        `public key  ${r.publicKeyPath} (give to devices: they trust bundles signed by it)`,
      ].join('\n'),
    );
  },
};

export const keysCommand: CommandModule = {
  command: 'keys <command>',
  describe: 'Manage bundle signing keys',
  builder: (y: Argv) => y.command(generate).demandCommand(1, 'Name a keys command; see edgeloop keys --help'),
  handler: () => undefined,
};
