/**
 * The `http.listen` address: a port alone (9464, "9464" or ":9464") listens on loopback only; an
 * address the operator writes ("0.0.0.0:9464", "[::]:9464", "10.0.0.5:9464") is used as written.
 */
import net from "node:net";
import { z } from "zod";

export interface ListenAddress {
  host: string;
  port: number;
}

export const LOOPBACK = "127.0.0.1";

/** The address, or a message saying what is wrong with it. */
export function parseListen(value: string | number): ListenAddress | string {
  const text = String(value).trim();
  let host = LOOPBACK;
  let port = text;
  const bracketed = /^\[([^\]]+)\]:(.*)$/.exec(text);
  if (bracketed) {
    [, host, port] = bracketed as unknown as [string, string, string];
    if (!net.isIPv6(host)) return `"${host}" is not an IPv6 address`;
  } else if (text.includes(":")) {
    const at = text.lastIndexOf(":");
    if (at > 0) host = text.slice(0, at);
    port = text.slice(at + 1);
    if (host.includes(":")) return `write an IPv6 address in brackets, e.g. "[${host}]:${port}"`;
    if (!net.isIPv4(host) && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host)) return `"${host}" is not an address or host name`;
  }
  if (!/^\d+$/.test(port)) return `expected a port or address:port such as "127.0.0.1:9464", not "${text}"`;
  const n = Number(port);
  if (n < 1 || n > 65_535) return `port ${port} is out of range (1-65535)`;
  return { host, port: n };
}

export const listenAddress = () =>
  z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      const parsed = parseListen(v);
      if (typeof parsed === "string") {
        ctx.addIssue({ code: "custom", message: parsed });
        return z.NEVER;
      }
      return parsed;
    })
    .describe('A port (loopback only: 9464 or ":9464") or address:port ("0.0.0.0:9464", "[::]:9464") to serve /metrics, /healthz and /readyz');

/** How an address is shown in logs and URLs. */
export function formatListen({ host, port }: ListenAddress): string {
  return `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
}
