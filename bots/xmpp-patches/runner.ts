/** What every fix is, and how one is probed, applied and reported; the outcomes of this process. */
import { createRequire } from "node:module";
import { createLogger } from "../logger.ts";

export type PatchOutcome = "applied" | "not-needed" | "not-applicable";

export interface PatchInfo {
  name: string;
  /** The upstream code the fix replaces, with the version it was written for. */
  target: string;
  /** The upstream issue or commit, or why there is none. */
  upstream: string;
  /** What goes wrong while the fix is not applied, and what to check. */
  ifNotApplied: string;
  /** The packages to name in the log, each as its chain of dependencies from @xmpp/client. */
  packages: string[][];
}

export interface PatchStatus extends Pick<PatchInfo, "name" | "target" | "upstream"> {
  outcome: PatchOutcome;
  /** What the probe saw. */
  detail: string;
  /** The versions found installed, e.g. "@xmpp/sasl@0.14.0, sasl-plain@0.1.0". */
  installed: string;
}

/** What a probe saw: the bug the fix corrects, upstream's fix, or code it does not recognise. */
export interface ProbeResult {
  bug: "present" | "fixed" | "unknown";
  detail: string;
}

export interface XmppPatch<T> extends PatchInfo {
  probe(target: T): Promise<ProbeResult>;
  apply(target: T): void;
  isApplied(target: T): boolean;
}

export interface PatchLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const present = (detail: string): ProbeResult => ({ bug: "present", detail });
export const fixed = (detail: string): ProbeResult => ({ bug: "fixed", detail });
export const unknown = (detail: string): ProbeResult => ({ bug: "unknown", detail });

/** Probes `patch` and applies it if its bug is there; logs the outcome (nothing if it was applied before). */
export async function runPatch<T>(patch: XmppPatch<T>, resolveTarget: () => T, logger: PatchLogger): Promise<PatchStatus> {
  const [outcome, detail] = await probeAndApply(patch, resolveTarget);
  const status = statusOf(patch, outcome, detail);
  if (detail !== ALREADY_APPLIED) report(patch, status, logger);
  return status;
}

const ALREADY_APPLIED = "already applied";
const OUTCOME: Record<ProbeResult["bug"], PatchOutcome> = { present: "applied", fixed: "not-needed", unknown: "not-applicable" };

async function probeAndApply<T>(patch: XmppPatch<T>, resolveTarget: () => T): Promise<[PatchOutcome, string]> {
  try {
    const target = resolveTarget();
    if (patch.isApplied(target)) return ["applied", ALREADY_APPLIED];
    const seen = await patch.probe(target);
    if (seen.bug === "present") patch.apply(target);
    return [OUTCOME[seen.bug], seen.detail];
  } catch (err) {
    return ["not-applicable", (err as Error).message];
  }
}

function statusOf(patch: PatchInfo, outcome: PatchOutcome, detail: string): PatchStatus {
  const installed = patch.packages.map((chain) => `${chain.at(-1)}@${installedVersion(chain)}`).join(", ");
  return { name: patch.name, target: patch.target, upstream: patch.upstream, outcome, detail, installed };
}

function report(patch: PatchInfo, status: PatchStatus, logger: PatchLogger): void {
  const { name, outcome, detail, installed } = status;
  const fields = { patch: name, outcome, installed, target: patch.target, upstream: patch.upstream, detail };
  if (outcome === "applied") logger.debug(fields, `xmpp.js fix "${name}" applied`);
  else if (outcome === "not-needed") {
    logger.info(fields, `xmpp.js fix "${name}" not needed: ${detail}. Upstream fixed it (${patch.upstream}); remove the fix from roster-bot`);
  } else {
    logger.error(
      fields,
      `xmpp.js fix "${name}" NOT APPLIED: it was written for ${patch.target}; installed: ${installed}; ${detail}. ${patch.ifNotApplied}`,
    );
  }
}

const statuses = new Map<string, PatchStatus>();
let log: PatchLogger | undefined;

export const patchLog = (): PatchLogger => (log ??= createLogger("info", process.stderr));

export function setPatchLog(logger: PatchLogger): void {
  log = logger;
}

export function recordStatus(status: PatchStatus): void {
  statuses.set(status.name, status);
}

/** The outcomes so far, in order (empty until verifyXmppPatches() has run). */
export function xmppPatchStatus(): PatchStatus[] {
  return [...statuses.values()];
}

/** A fix found not to fit one client at run time: recorded and logged at error level, once. */
export function failedOnClient(patch: PatchInfo, detail: string): void {
  if (statuses.get(patch.name)?.outcome === "not-applicable") return;
  const status = statusOf(patch, "not-applicable", detail);
  statuses.set(patch.name, status);
  report(patch, status, patchLog());
}

// Installed modules are found the way xmpp.js finds them, not from roster-bot: it depends on
// @xmpp/client only, and under pnpm the dependencies of that are not visible from here.
const here = createRequire(import.meta.url);

/** Resolves `request` from the package reached by `chain`, each a dependency of the one before. */
function resolveAlong(chain: string[], request: string): string {
  let from = here;
  for (const name of chain) from = createRequire(from.resolve(`${name}/package.json`));
  return from.resolve(request);
}

/** Loads `request` as the package reached by `chain` would. */
export function requireAlong(chain: string[], request: string): unknown {
  return here(resolveAlong(chain, request));
}

function installedVersion(chain: string[]): string {
  try {
    const pkg = resolveAlong(chain.slice(0, -1), `${chain.at(-1)}/package.json`);
    return (here(pkg) as { version?: string }).version ?? "unknown";
  } catch {
    return "not found";
  }
}
