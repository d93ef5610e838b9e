/**
 * Loads bot.config.yaml: YAML syntax, the host schema, ${ENV} substitution (env.ts) and passwords. Every
 * problem is reported at once, with file, line and column; plugin sections are validated by each
 * plugin's schema (plugin-loader.ts).
 */
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import type { z } from "zod";
import { formatMode } from "../file-mode.ts";
import { parseJid } from "../jid.ts";
import { substituteEnv, type EnvProblem } from "./env.ts";
import type { ListenAddress } from "./listen.ts";
import { Secret } from "./secret.ts";
import { ConfigError, ConfigSource, type ConfigIssue, type ConfigPath } from "./source.ts";
import { ENV_REFERENCE, hostSchema, type RawBotConfig } from "./schema.ts";

export interface BotConfig {
  id: string;
  /** Normalized bare JID of the bot's account. */
  jid: string;
  /** What contacts' clients show as the bot's name (disco#info); undefined: the id. */
  name?: string;
  /** The JID as written in the config: its domain spelling (A- or U-labels) is what the server knows. */
  jidAsWritten?: string;
  resource: string;
  service: string | undefined;
  tls: RawBotConfig["tls"];
  /** Absolute path. */
  dataDir: string;
  reconnect: { initialDelay: number; maxDelay: number };
  /** Resolved from the environment or passwordFile; undefined when secrets were not requested. */
  password: Secret | undefined;
  /** Plugin sections in the order written: the key as written and its raw config. */
  plugins: { key: string; config: unknown }[];
  /** Index of this bot in `bots`, for pointing at its YAML. */
  index: number;
}

export interface HostConfig {
  source: ConfigSource;
  logLevel: string;
  /** Mode of the files the bots create (`files.mode`). */
  fileMode: number;
  /** Not errors, but worth saying at `check` and `run` (a password file others can read). */
  warnings: ConfigIssue[];
  /** Where to serve /metrics, /healthz and /readyz; undefined: no HTTP server. */
  http: { listen: ListenAddress } | undefined;
  bots: BotConfig[];
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Resolve passwords (run, check). Offline commands (explain, schema) do not need them. */
  secrets?: boolean;
  /** Loaded by a plugin command, not to run it: plugins skip the checks that judge behaviour (CheckEnv). */
  forCommand?: boolean;
}

/** Converts zod issues into positioned config issues; `prefix` is where the validated value sits. */
export function zodIssues(source: ConfigSource, issues: readonly z.core.$ZodIssue[], prefix: ConfigPath = []): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const p = [...prefix, ...(issue.path as (string | number)[])];
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) out.push(source.issue([...p, key], `unknown key "${key}"`, true));
    } else {
      out.push(source.issue(p, issue.message));
    }
  }
  return out;
}

const isPasswordPath = (p: ConfigPath) => p.length === 3 && p[0] === "bots" && p[2] === "password";

/** "group and others" for a mode that lets both read, undefined when only the owner can. */
function otherReaders(mode: number): string | undefined {
  const who = [mode & 0o040 ? "group" : "", mode & 0o004 ? "others" : ""].filter(Boolean);
  return who.length ? who.join(" and ") : undefined;
}

function resolvePassword(
  raw: RawBotConfig,
  index: number,
  source: ConfigSource,
  env: NodeJS.ProcessEnv,
  issues: ConfigIssue[],
  warnings: ConfigIssue[],
): Secret | undefined {
  const at = ["bots", index];
  if (raw.password && raw.passwordFile) {
    issues.push(source.issue([...at, "passwordFile"], "give either password or passwordFile, not both"));
    return undefined;
  }
  if (raw.password) {
    const name = ENV_REFERENCE.exec(raw.password)![1]!;
    const value = env[name];
    if (!value) {
      issues.push(source.issue([...at, "password"], `environment variable ${name} is not set`));
      return undefined;
    }
    return new Secret(value);
  }
  if (raw.passwordFile) {
    const file = path.resolve(source.dir, raw.passwordFile);
    try {
      const value = readFileSync(file, "utf8").replace(/\r?\n$/, "");
      if (!value) throw new Error("file is empty");
      const mode = statSync(file).mode;
      const readers = otherReaders(mode);
      if (readers) {
        warnings.push(source.issue([...at, "passwordFile"], `password file ${file} is readable by ${readers} (mode ${formatMode(mode)}); chmod 600 it`));
      }
      return new Secret(value);
    } catch (err) {
      issues.push(source.issue([...at, "passwordFile"], `cannot read password file ${file}: ${(err as Error).message}`));
      return undefined;
    }
  }
  issues.push(source.issue(at, "a password is needed: password: ${ENV_VAR} or passwordFile: FILE"));
  return undefined;
}

/** One bot's plugin sections, for validating them even when the rest of the bot is not valid. */
export type PluginSections = Pick<BotConfig, "index" | "plugins">;

/** The plugin sections of every bot whose `plugins` is a mapping, read from the unvalidated config. */
function pluginSectionsOf(value: unknown): PluginSections[] {
  const bots = (value as { bots?: unknown } | null)?.bots;
  if (!Array.isArray(bots)) return [];
  return bots.flatMap((bot: unknown, index) => {
    const plugins = (bot as { plugins?: unknown } | null)?.plugins;
    if (!plugins || typeof plugins !== "object" || Array.isArray(plugins)) return [];
    return [{ index, plugins: Object.entries(plugins as Record<string, unknown>).map(([key, config]) => ({ key, config: config ?? {} })) }];
  });
}

/**
 * Validates the host part of a config source: the config only when there is no issue, and each bot's
 * plugin sections as far as they can be read even then, for the caller to validate in the same pass.
 */
export function validateHost(
  source: ConfigSource,
  options: LoadOptions = {},
): { config?: HostConfig; issues: ConfigIssue[]; pluginSections: PluginSections[] } {
  const env = options.env ?? process.env;
  const issues: ConfigIssue[] = [...source.syntaxIssues];
  if (issues.length) return { issues, pluginSections: [] };

  let value: unknown;
  try {
    value = source.toJS();
  } catch (err) {
    // yaml refuses, when converting, aliases that expand too far (a "billion laughs" document).
    issues.push({ file: source.file, line: 1, column: 1, path: [], message: `the YAML cannot be read: ${(err as Error).message}` });
    return { issues, pluginSections: [] };
  }
  const envProblems: EnvProblem[] = [];
  const substituted = substituteEnv(value, [], env, isPasswordPath, envProblems);
  for (const problem of envProblems) issues.push(source.issue(problem.path, problem.message));

  const parsed = hostSchema.safeParse(substituted);
  if (!parsed.success) {
    issues.push(...zodIssues(source, parsed.error.issues));
    return { issues, pluginSections: pluginSectionsOf(substituted) };
  }

  const seen = new Set<string>();
  const warnings: ConfigIssue[] = [];
  const bots: BotConfig[] = parsed.data.bots.map((raw, index) => {
    if (seen.has(raw.id)) issues.push(source.issue(["bots", index, "id"], `duplicate bot id "${raw.id}"`));
    seen.add(raw.id);
    let jid: string | undefined;
    let why = "";
    try {
      jid = parseJid(raw.jid).bare;
    } catch (err) {
      why = `: ${(err as Error).message}`;
    }
    if (!jid || !jid.includes("@") || raw.jid.includes("/")) {
      issues.push(source.issue(["bots", index, "jid"], `"${raw.jid}" is not a valid bare JID (user@domain)${why}`));
    }
    const password = options.secrets ? resolvePassword(raw, index, source, env, issues, warnings) : undefined;
    return {
      id: raw.id,
      jid: jid ?? raw.jid,
      name: raw.name,
      jidAsWritten: raw.jid,
      resource: raw.resource,
      service: raw.service,
      tls: raw.tls,
      dataDir: path.resolve(source.dir, raw.dataDir ?? path.join("data", raw.id)),
      reconnect: raw.reconnect,
      password,
      plugins: Object.entries(raw.plugins).map(([key, config]) => ({ key, config: config ?? {} })),
      index,
    };
  });
  if (issues.length) return { issues, pluginSections: bots };
  return { config: { source, logLevel: parsed.data.log.level, fileMode: parsed.data.files.mode, warnings, http: parsed.data.http, bots }, issues, pluginSections: bots };
}

/** Reads and validates the host config; throws ConfigError listing every issue. */
export function loadHostConfig(file: string, options: LoadOptions = {}): HostConfig {
  const { config, issues } = validateHost(ConfigSource.read(file), options);
  if (!config) throw new ConfigError(issues);
  return config;
}
