/** Ports for servers that cannot listen on port 0 themselves (serverless offline, cognito-local). */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The first port the kernel may hand out by itself (to bind(0) and to outgoing connections). */
function ephemeralRangeStart(): number {
  try {
    const start = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(start) && start > 12_000 ? start : 32_768;
  } catch {
    return 32_768;
  }
}

const handedOut = new Set<number>();

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A port that is free now, for a server started a few seconds later (serverless offline). Taken
 * below the kernel's ephemeral range: a port from listen(0) would be back in the pool the moment
 * it is released, and any bind(0) or outgoing connection in between could take it (EADDRINUSE).
 */
export async function freePort(): Promise<number> {
  const low = 10_000;
  const high = ephemeralRangeStart();
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port found between ${low} and ${high} on 127.0.0.1 after 100 tries`);
}
