/** The host's part of bot.config.yaml. Each plugin validates its own section with its own schema. */
import { z } from "zod";
import { listenAddress } from "./listen.ts";
import { duration } from "./units.ts";

export const ENV_REFERENCE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

const SERVICE = /^xmpps?:\/\/[^/\s]+$/;

/** A port from ${PORT} or typed by hand: "xmpp://host:abc" and "xmpp://host:70000" fail here, not at connect. */
function hasUsablePort(service: string): boolean {
  if (!SERVICE.test(service)) return true; // reported by the pattern
  try {
    const { port } = new URL(service);
    return port === "" ? !service.endsWith(":") : Number(port) > 0;
  } catch {
    return false;
  }
}

export const tlsPolicy = z
  .enum(["required", "plaintext-loopback", "plaintext"])
  .default("required")
  .describe(
    "required: the stream must be encrypted before authenticating (default). " +
      "plaintext-loopback: allow an unencrypted stream only to a loopback address (local test servers). " +
      "plaintext: allow an unencrypted stream to any host (not recommended).",
  );

export const reconnectSchema = z
  .object({
    initialDelay: duration().default(1_000).describe("Delay before the first reconnect attempt"),
    maxDelay: duration().default(60_000).describe("Upper bound of the exponential backoff"),
  })
  .strict()
  .default({ initialDelay: 1_000, maxDelay: 60_000 });

export const botSchema = z
  .object({
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "id may hold letters, digits, '.', '_' and '-'")
      // It names the default data folder: keep it well within a file name's 255 bytes.
      .max(64, "id may be at most 64 characters")
      .describe("Short name of this bot, used in logs, audit lines and --bot"),
    jid: z.string().min(3).describe("The bot account's bare JID, e.g. bot@example.org"),
    name: z
      .string()
      .trim()
      .min(1, "name must not be empty")
      .max(100, "name may be at most 100 characters")
      // Control characters cannot be sent in XML: the server would end the bot's stream.
      // eslint-disable-next-line no-control-regex -- finding control characters is the point
      .regex(/^[^\u0000-\u001f\u007f]*$/, "name must not contain control characters")
      .optional()
      .describe("What contacts' clients show as the bot's name (its disco#info identity); default: the id"),
    password: z
      .string()
      .regex(ENV_REFERENCE, "a literal password is refused: write ${ENV_VAR} or use passwordFile")
      .optional()
      .describe("An environment variable reference such as ${ROSTER_BOT_PASSWORD}; never a literal password"),
    passwordFile: z.string().optional().describe("A file holding the password (e.g. a systemd credential)"),
    service: z
      .string()
      .regex(SERVICE, "service must look like xmpp://host:port or xmpps://host:port")
      .refine(hasUsablePort, "the service's port must be a number from 1 to 65535")
      .optional()
      .describe("Where to connect: xmpp://host:port (STARTTLS) or xmpps://host:port (direct TLS). Default: DNS SRV lookup of the JID's domain"),
    resource: z.string().min(1).default("roster-bot").describe("Resource to bind"),
    tls: tlsPolicy,
    dataDir: z.string().optional().describe("Where this bot keeps its state; default ./data/<id> beside the config file"),
    reconnect: reconnectSchema,
    plugins: z
      .record(z.string(), z.unknown())
      .default({})
      .describe("Plugins to load, by name (from plugins/), relative path or npm package, each with its own config"),
  })
  .strict();

/** A file mode as an octal string: YAML reads an unquoted 0640 as the decimal number 640. */
const fileModeSchema = z
  .string({ error: 'write the mode as a quoted octal string, e.g. "0640"' })
  .regex(/^0?[0-7]{3}$/, 'write the mode as an octal string, e.g. "0640"')
  .transform((s) => parseInt(s, 8))
  .refine((m) => (m & 0o600) === 0o600, "the owner (the bot) must be able to read and write its files: the mode needs 06xx")
  .refine((m) => (m & 0o111) === 0, "the bot's files need no execute bit");

/** pino's levels; LOG_LEVEL and `run --log-level` take the same. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

export const hostSchema = z
  .object({
    log: z
      .object({
        level: z.enum(LOG_LEVELS).default("info"),
      })
      .strict()
      .default({ level: "info" }),
    files: z
      .object({
        mode: fileModeSchema
          .prefault("0600")
          .describe('Mode of the files the bots create (roster cache, state, audit log), e.g. "0640"; their folders get x where r is set. Default "0600"'),
      })
      .strict()
      .prefault({}),
    http: z
      .object({ listen: listenAddress() })
      .strict()
      .optional()
      .describe("Opt-in HTTP endpoints: /metrics (Prometheus), /healthz and /readyz"),
    bots: z.array(botSchema).min(1, "at least one bot is needed"),
  })
  .strict();

export type HostConfigInput = z.input<typeof hostSchema>;
export type RawBotConfig = z.output<typeof botSchema>;
