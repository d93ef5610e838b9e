/**
 * The opt-in HTTP endpoints (node:http, no framework): /metrics in the Prometheus text format,
 * /healthz (200 while the process serves) and /readyz (200 when every bot is ready, 503 otherwise,
 * with each bot's state as JSON). Nothing else is served.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { formatListen, type ListenAddress } from "./config/listen.ts";
import type { MetricsRegistry } from "./metrics.ts";
import type { BotReadiness } from "./runtime.ts";

export interface HttpSources {
  metrics: MetricsRegistry;
  /** Each bot's readiness, by id. */
  readiness: () => Record<string, BotReadiness>;
}

export class HttpListenError extends Error {
  constructor(address: ListenAddress, cause: NodeJS.ErrnoException) {
    const why =
      cause.code === "EADDRINUSE" ? "the port is in use"
      : cause.code === "EACCES" ? "permission denied"
      : cause.code === "EADDRNOTAVAIL" ? "the address is not on this machine"
      : cause.message;
    super(`http.listen ${formatListen(address)}: cannot listen: ${why}`, { cause });
    this.name = "HttpListenError";
  }
}

export interface RunningHttpServer {
  /** The address actually bound (the port is the kernel's choice for port 0 in tests). */
  readonly address: ListenAddress;
  close(): Promise<void>;
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
  res.end(body);
}

async function handle(sources: HttpSources, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("allow", "GET, HEAD");
    return send(res, 405, "text/plain; charset=utf-8", "method not allowed\n");
  }
  const route = (req.url ?? "/").split("?")[0];
  switch (route) {
    case "/metrics":
      return send(res, 200, sources.metrics.contentType, await sources.metrics.scrape());
    case "/healthz":
      return send(res, 200, "text/plain; charset=utf-8", "ok\n");
    case "/readyz": {
      const bots = sources.readiness();
      const ready = Object.values(bots).every((b) => b.ready);
      return send(res, ready ? 200 : 503, "application/json", JSON.stringify({ ready, bots }) + "\n");
    }
    default:
      return send(res, 404, "text/plain; charset=utf-8", "not found: try /metrics, /healthz or /readyz\n");
  }
}

/** Listens on `address`; rejects with HttpListenError (one line, no stack needed) when it cannot. */
export async function startHttpServer(address: ListenAddress, sources: HttpSources): Promise<RunningHttpServer> {
  const server = http.createServer((req, res) => {
    handle(sources, req, res).catch((err: Error) => {
      if (!res.headersSent) send(res, 500, "text/plain; charset=utf-8", `error: ${err.message}\n`);
      else res.destroy();
    });
  });
  // Scrapers keep connections open; do not let one hold shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => reject(new HttpListenError(address, err)));
    server.listen(address.port, address.host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  return {
    address: { host: address.host, port: bound.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
