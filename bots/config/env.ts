/**
 * Environment variables in config strings: `${VAR}`, and `${VAR:-default}` with the shell's meaning
 * (the default when VAR is unset or empty). Anything else (`$VAR`, `${1X}`, an unclosed `${`) is
 * left as written.
 */
import type { ConfigPath } from "./source.ts";

/** `${NAME}` or `${NAME:-default}`; the default runs to the first `}`. */
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface EnvProblem {
  path: ConfigPath;
  message: string;
}

/** One string with its references replaced; problems are pushed with `p`. */
export function substituteString(text: string, p: ConfigPath, env: NodeJS.ProcessEnv, problems: EnvProblem[]): string {
  return text.replace(REFERENCE, (whole, name: string, fallback: string | undefined) => {
    const value = env[name];
    if (fallback === undefined) {
      if (value !== undefined) return value;
      problems.push({ path: p, message: `environment variable ${name} is not set` });
      return whole;
    }
    if (fallback.includes("${")) {
      problems.push({ path: p, message: `the default of \${${name}:-...} cannot hold another \${...}` });
      return whole;
    }
    return value ? value : fallback;
  });
}

/** Replaces references in every string of a parsed config, except at the paths `skip` accepts. */
export function substituteEnv(
  value: unknown,
  p: ConfigPath,
  env: NodeJS.ProcessEnv,
  skip: (p: ConfigPath) => boolean,
  problems: EnvProblem[],
): unknown {
  if (skip(p)) return value;
  if (typeof value === "string") return substituteString(value, p, env, problems);
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, [...p, i], env, skip, problems));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnv(v, [...p, k], env, skip, problems);
    return out;
  }
  return value;
}
