// Connection deadlines and caps: what stops a slowloris client (headers dribbled a byte at a time, or a body
// promised and never sent) and a connection flood from holding the service's sockets and file descriptors.
//   - headers must arrive within headersTimeoutMs and the whole request within bodyTimeoutMs (Node answers 408 and
//     closes), checked every second: Node's default check runs every 30 s, so a stalled body used to hold its
//     connection for up to a minute;
//   - idle keep-alive connections close after keepAliveTimeoutMs (fastify's keepAliveTimeout);
//   - at most maxConnections open (past it Node drops new ones at once), and optionally maxConnectionsPerClient
//     from one address, so one client cannot take every slot.
import type { Server } from "node:http";
import type { Socket } from "node:net";
import type { Settings } from "./context.js";

/** How often Node checks the headers and request deadlines (ms). */
const CHECK_EVERY_MS = 1000;

/** Applies the deadlines and caps to the server, before it listens. */
export function limitConnections(
  server: Server,
  s: Pick<Settings, "maxConnections" | "maxConnectionsPerClient" | "headersTimeoutMs" | "bodyTimeoutMs">,
): void {
  server.headersTimeout = s.headersTimeoutMs;
  server.requestTimeout = s.bodyTimeoutMs;
  // (read when the server starts listening: set before listen)
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = CHECK_EVERY_MS;
  server.maxConnections = s.maxConnections;
  if (s.maxConnectionsPerClient > 0) {
    const open = new Map<string, number>();
    server.on("connection", (socket: Socket) => {
      const who = socket.remoteAddress ?? "";
      const n = (open.get(who) ?? 0) + 1;
      if (n > s.maxConnectionsPerClient) {
        socket.destroy();
        return;
      }
      open.set(who, n);
      socket.once("close", () => {
        const left = (open.get(who) ?? 1) - 1;
        if (left > 0) open.set(who, left);
        else open.delete(who);
      });
    });
  }
}
