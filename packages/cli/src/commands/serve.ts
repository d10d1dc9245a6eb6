import type { CommandModule } from 'yargs';
import { serveFleet } from '@edgeloop/ota';
import type { ServeOptions } from '@edgeloop/ota';
import { emit, UsageError } from '../output.js';

interface ServeArgs {
  'data-dir': string;
  host: string;
  port: number;
  broker?: string;
  user?: string;
  password?: string;
  'broker-ca'?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
  'public-url'?: string;
  json: boolean;
}

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: 'serve',
  describe: 'Run the fleet server (embedded MQTT broker by default): desired state, chunk serving, rollouts, sample intake',
  builder: (y) =>
    y
      .option('data-dir', { alias: 'd', type: 'string', demandOption: true, describe: 'Server data directory (bundles, devices, rollouts, samples, credentials)' })
      .option('host', { type: 'string', default: '0.0.0.0', describe: 'Embedded broker: listen address' })
      .option('port', { alias: 'p', type: 'number', default: 1883, describe: 'Embedded broker: port (0 = any free port)' })
      .option('broker', { type: 'string', describe: 'Use an external broker (mqtt:// or mqtts:// URL) instead of the embedded one' })
      .option('user', { type: 'string', describe: 'External broker: the server identity' })
      .option('password', { type: 'string', describe: 'External broker: its password (prefer EDGELOOP_BROKER_PASSWORD)' })
      .option('broker-ca', { type: 'string', describe: 'External broker: CA certificate file' })
      .option('tls-cert', { type: 'string', describe: 'Embedded broker: serve mqtts:// with this certificate (PEM)' })
      .option('tls-key', { type: 'string', describe: 'Embedded broker: the certificate key (PEM)' })
      .option('public-url', { type: 'string', describe: 'Broker URL written into device configs (default: derived from host and port)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the start line as JSON' })
      .example('$0 serve -d /var/lib/edgeloop', 'Embedded broker on port 1883')
      .example('$0 serve -d srv --broker mqtts://mq.example:8883 --user edgeloop-server', 'An existing broker'),
  handler: async (args) => {
    const options: ServeOptions = { dataDir: args['data-dir'], host: args.host, port: args.port };
    if (args.broker !== undefined) {
      const password = args.password ?? process.env.EDGELOOP_BROKER_PASSWORD;
      if (args.user === undefined || password === undefined) throw new UsageError('--broker needs --user and --password (or EDGELOOP_BROKER_PASSWORD)');
      options.broker = { url: args.broker, username: args.user, password, ...(args['broker-ca'] !== undefined ? { caFile: args['broker-ca'] } : {}) };
    }
    if ((args['tls-cert'] === undefined) !== (args['tls-key'] === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
    if (args['tls-cert'] !== undefined && args['tls-key'] !== undefined) options.tls = { certFile: args['tls-cert'], keyFile: args['tls-key'] };
    if (args['public-url'] !== undefined) options.publicUrl = args['public-url'];
    const fleet = await serveFleet(options);
    emit(args, { url: fleet.url, dataDir: args['data-dir'], embeddedBroker: fleet.broker !== undefined, pid: process.pid }, (r) =>
      `serving ${r.dataDir} on ${r.url}${r.embeddedBroker ? ' (embedded broker)' : ''}; Ctrl-C stops`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await fleet.close();
  },
};
