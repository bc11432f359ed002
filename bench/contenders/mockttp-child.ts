import { writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { generateCACertificate, getLocal } from 'mockttp';

/**
 * mockttp as a standalone proxy process: intercepts and passes every request through to the
 * real upstream (trusting the bench test CA), tunnels the tunnel host untouched, records
 * nothing. argv: PORT STATE_DIR TEST_CA_PATH TUNNEL_HOST
 */
const [portArg, stateDir, testCa, tunnelHost] = process.argv.slice(2);
const ca = await generateCACertificate({ subject: { commonName: 'mockttp bench CA' }, bits: 2048 });
const certPath = join(stateDir!, 'mockttp-ca.pem');
const server = getLocal({
  https: { key: ca.key, cert: ca.cert, tlsPassthrough: [{ hostname: tunnelHost! }] },
  recordTraffic: false,
});
await server.forAnyRequest().thenPassThrough({ additionalTrustedCAs: [{ certPath: testCa! }] });
await server.start(Number(portArg));
// The parent waits for this file, so it must appear only once the proxy listens.
await writeFile(`${certPath}.tmp`, ca.cert);
await rename(`${certPath}.tmp`, certPath);
const stop = (): void => { void server.stop().finally(() => process.exit(0)); };
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
