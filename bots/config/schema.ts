/** The host's part of bot.config.yaml. Each plugin validates its own section with its own schema. */
import { z } from "zod";
import { duration } from "./units.ts";

export const ENV_REFERENCE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

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
    password: z
      .string()
      .regex(ENV_REFERENCE, "a literal password is refused: write ${ENV_VAR} or use passwordFile")
      .optional()
      .describe("An environment variable reference such as ${ROSTER_BOT_PASSWORD}; never a literal password"),
    passwordFile: z.string().optional().describe("A file holding the password (e.g. a systemd credential)"),
    service: z
      .string()
      .regex(/^xmpps?:\/\/[^/\s]+$/, "service must look like xmpp://host:port or xmpps://host:port")
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
    bots: z.array(botSchema).min(1, "at least one bot is needed"),
  })
  .strict();

export type HostConfigInput = z.input<typeof hostSchema>;
export type RawBotConfig = z.output<typeof botSchema>;
