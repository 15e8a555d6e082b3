import { type Socket, createServer } from "node:net";
import type { ConnectionInjector } from "@grpc/grpc-js";

/** The HTTP/2 client connection preface, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", is 24 bytes. */
const PREFACE_BYTES = 24;

export interface ConnectionLimits {
  /** How long a connection may take to send its first `PREFACE_BYTES` (with TLS: its first byte). */
  handshakeTimeoutMs: number;
  maxConnections: number;
  /** With TLS the preface is encrypted; only the first byte of the handshake is waited for here. */
  tls: boolean;
}

export interface ConnectionListener {
  readonly port: number;
  /** Stops accepting and closes the connections still waiting for their first bytes. */
  close(): void;
}

/**
 * The gRPC port, owned by Vigil rather than grpc-js so that connections which never start talking
 * are closed: grpc-js's own listener keeps a connection that sends nothing (or half a preface)
 * open forever, and does not cap how many there are. A connection is handed to grpc-js once its
 * preface has arrived; from then on grpc-js's idle and keepalive limits govern it.
 */
export function listenForConnections(injector: ConnectionInjector, host: string, port: number, limits: ConnectionLimits): Promise<ConnectionListener> {
  const waiting = new Set<Socket>();
  const need = limits.tls ? 1 : PREFACE_BYTES;
  const server = createServer((socket) => {
    waiting.add(socket);
    const chunks: Buffer[] = [];
    let received = 0;
    const drop = () => socket.destroy();
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received < need) return;
      socket.off("data", onData);
      socket.off("timeout", drop);
      // A reset while waiting is this module's to swallow; once handed over, grpc-js handles errors.
      socket.off("error", drop);
      socket.setTimeout(0);
      waiting.delete(socket);
      // Hand the bytes back, so the HTTP/2 session reads the connection from its first byte.
      socket.pause();
      socket.unshift(Buffer.concat(chunks));
      injector.injectConnection(socket);
    };
    socket.on("data", onData);
    socket.on("error", drop);
    socket.on("close", () => waiting.delete(socket));
    socket.setTimeout(limits.handshakeTimeoutMs);
    socket.on("timeout", drop);
  });
  server.maxConnections = limits.maxConnections;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve({
        port: (server.address() as { port: number }).port,
        close: () => {
          server.close();
          for (const socket of waiting) socket.destroy();
        },
      });
    });
  });
}
