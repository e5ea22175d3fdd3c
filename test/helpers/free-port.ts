import { once } from 'node:events';
import { createServer } from 'node:net';

/** A local TCP port nothing listens on right now (bind port 0, read it, release it). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const address = probe.address();
  probe.close();
  await once(probe, 'close');
  if (address === null || typeof address === 'string') throw new Error('could not determine a free TCP port');
  return address.port;
}
