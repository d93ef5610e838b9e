/**
 * Group sync at run time: triggers debounced into one sync at a time, each plan -> `beforeGroupSync`
 * -> apply -> `afterGroupSync`. It cannot loop: a sync's own echoes are not triggers, a declared
 * contact is asked once, a contact the server stored differently from our set is left alone until
 * the next session or reload (at most one futile set), and prune removes at most `maxPerRun`.
 */
import path from "node:path";
import type { PluginContext } from "../../../bots/context.ts";
import { NotifyHook, TransformHook } from "../../../bots/hooks.ts";
import type { GroupChange, GroupSyncApi, GroupSyncHooks, RosterAccess, RosterCopyHooks, RosterItem, SyncPlan, SyncResult } from "../api.ts";
import { cleanGroups, cleanName, type ItemLimits } from "../item.ts";
import type { RosterChange } from "../copy.ts";
import { applyPlan, DEFAULT_CONCURRENCY } from "./applier.ts";
import { AskedContacts } from "./asked-contacts.ts";
import { compileGroupRules, type GroupRules, type GroupsConfig } from "./config.ts";
import { planContact, planSync, type PlanGuards } from "./planner.ts";

export const AUDIT_BY = "group-sync";

/** Triggers group sync starts by itself; any other trigger name is a caller's (e.g. "manual"). */
const AUTOMATIC = new Set(["loaded", "push", "reload", "interval"]);

export interface GroupSyncParts {
  roster: Pick<RosterAccess, "account" | "loaded" | "whenLoaded" | "get" | "list" | "unreadable" | "isUnreadable" | "snapshotAndListen" | "set" | "remove" | "subscribe" | "preApprove" | "features"> & {
    readonly hooks: Pick<RosterCopyHooks, "loaded">;
  };
  /** Requests held for an admin (`ask`): never pruned. */
  pending: { has(jid: string): boolean };
}

export interface GroupSyncOptions {
  limits: ItemLimits;
  /** How long triggers are gathered before a sync starts. */
  debounceMs?: number;
  concurrency?: number;
  retries?: number;
  backoffMs?: number;
}

export interface PreparedGroups {
  readonly config: GroupsConfig;
  readonly rules: GroupRules;
}

type Deferred = { trigger: string; promise: Promise<SyncResult>; resolve: (r: SyncResult) => void; reject: (e: unknown) => void };

const itemKey = (name: string | undefined | null, groups: readonly string[]) => JSON.stringify([name ?? null, groups]);

/** Checks what a beforeGroupSync tap returned before anything of it is applied. */
export function checkPlan(value: unknown): SyncPlan {
  const plan = value as SyncPlan;
  if (!plan || typeof plan !== "object" || !Array.isArray(plan.changes)) throw new Error("beforeGroupSync produced something that is not a plan");
  plan.changes.forEach((c: GroupChange, i) => {
    const ok =
      c &&
      typeof c.jid === "string" &&
      (c.op === "add" || c.op === "update" || c.op === "remove") &&
      Array.isArray(c.groups?.before) &&
      Array.isArray(c.groups.after) &&
      c.groups.after.every((g) => typeof g === "string") &&
      (c.name?.after === undefined || c.name.after === null || typeof c.name.after === "string");
    if (!ok) throw new Error(`beforeGroupSync produced an invalid change at changes[${i}]`);
  });
  const checked: SyncPlan = { changes: plan.changes, heldBack: typeof plan.heldBack === "number" ? plan.heldBack : 0 };
  if (Array.isArray(plan.skipped)) checked.skipped = plan.skipped;
  return checked;
}

export class GroupSync implements GroupSyncApi {
  readonly hooks: GroupSyncHooks;
  private readonly roster: GroupSyncParts["roster"];
  private readonly pending: GroupSyncParts["pending"];
  private active: PreparedGroups;
  /** Contacts the running sync is writing: their pushes are its own echoes, not triggers. */
  private writing: ReadonlySet<string> = new Set();
  private readonly asked: AskedContacts;
  /** Contacts whose item the server stored differently from our set: what it kept (itemKey). */
  private readonly stubborn = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private timerTrigger: string | undefined;
  private running: Promise<SyncResult> | undefined;
  private queued: Deferred | undefined;
  private stopInterval: (() => void) | undefined;
  private disposed = false;

  constructor(
    private readonly ctx: PluginContext,
    parts: GroupSyncParts,
    config: GroupsConfig,
    private readonly options: GroupSyncOptions,
  ) {
    ({ roster: this.roster, pending: this.pending } = parts);
    this.hooks = {
      beforeGroupSync: new TransformHook("roster.beforeGroupSync", ctx.logger),
      afterGroupSync: new NotifyHook("roster.afterGroupSync", ctx.logger),
    };
    this.active = this.prepare(config);
    this.asked = new AskedContacts(path.join(ctx.dataDir, "group-sync.json"), ctx.logger);
    this.forgetUndeclared();
    // Only the listener is kept: holding the snapshot would keep a replaced copy's items alive.
    const { stop: stopListening } = this.roster.snapshotAndListen((change) => this.onChange(change));
    ctx.onDispose(() => {
      this.disposed = true;
      stopListening();
      clearTimeout(this.timer);
      this.stopInterval?.();
    });
    ctx.tap(
      this.roster.hooks.loaded,
      () => {
        this.stubborn.clear(); // a new session: one more try for each
        this.schedule("loaded", 0);
      },
      { name: AUDIT_BY },
    );
    this.startInterval();
  }

  get auto(): boolean {
    return this.active.config.auto;
  }

  // ---- config ------------------------------------------------------------------------------

  /** Compiles a config without using it; throws GroupRulesError. */
  prepare(config: GroupsConfig): PreparedGroups {
    const rules = compileGroupRules(config, { baseDir: this.ctx.bot.configDir, limits: this.options.limits });
    if (rules.contacts.has(this.roster.account)) this.ctx.logger.warn({ jid: this.roster.account }, "group sync: the bot's own account is declared as a contact; ignored");
    return { config, rules };
  }

  /** Swaps a prepared config in (cannot fail) and, with auto sync, syncs to it. */
  swap(prepared: PreparedGroups): void {
    const before = this.active.config;
    this.active = prepared;
    this.stubborn.clear();
    this.forgetUndeclared();
    if (before.interval !== prepared.config.interval || before.auto !== prepared.config.auto) this.startInterval();
    this.schedule("reload");
  }

  reload(config: GroupsConfig): void {
    this.swap(this.prepare(config));
  }

  private forgetUndeclared(): void {
    const { contacts } = this.active.rules;
    this.asked.retain((jid) => contacts.get(jid)?.subscribe === true);
  }

  private startInterval(): void {
    this.stopInterval?.();
    this.stopInterval = undefined;
    const { interval, auto } = this.active.config;
    if (auto && interval !== undefined && !this.disposed) this.stopInterval = this.ctx.setInterval(() => this.schedule("interval", 0), interval);
  }

  // ---- planning ----------------------------------------------------------------------------

  private guards(): PlanGuards {
    return { held: this.pending, asked: this.asked, account: this.roster.account, unreadable: { blocks: (jid) => this.roster.isUnreadable(jid) } };
  }

  /**
   * The stubborn guard: for a contact still exactly as the server kept it after our set, no set is
   * planned (the change keeps only its subscribe, or is dropped).
   */
  private unlessStubborn(change: GroupChange, item: RosterItem | undefined): GroupChange | undefined {
    const kept = this.stubborn.get(change.jid);
    if (kept === undefined || change.op === "remove") return change;
    if (!item || itemKey(item.name, item.groups) !== kept) {
      this.stubborn.delete(change.jid); // the contact changed since: try again
      return change;
    }
    if (!change.subscribe) return undefined;
    return { ...change, groups: { before: change.groups.before, after: [...change.groups.before] }, name: { before: change.name.before, after: change.name.before } };
  }

  plan(): SyncPlan {
    const plan = planSync(this.roster.list(), this.active.rules, this.guards());
    const unreadable = this.roster.unreadable();
    if (unreadable.length > 0) plan.skipped = unreadable.map((u) => ({ jid: u.raw, reason: u.reason }));
    if (this.stubborn.size === 0) return plan;
    plan.changes = plan.changes.map((c) => this.unlessStubborn(c, this.roster.get(c.jid))).filter((c): c is GroupChange => c !== undefined);
    return plan;
  }

  // ---- triggers ----------------------------------------------------------------------------

  private onChange(change: RosterChange): void {
    if (!this.active.config.auto || this.disposed || !this.roster.loaded || this.writing.has(change.jid)) return;
    const { rules } = this.active;
    const verdict = planContact(change.jid, change.after, rules, this.guards());
    const needed = (verdict.change && this.unlessStubborn(verdict.change, change.after)) || (verdict.prunable && rules.prune.enabled);
    if (!needed) return;
    this.ctx.logger.debug({ jid: change.jid }, "group sync: a roster push leaves a contact needing a change");
    this.schedule("push");
  }

  /** Starts a sync after `delay` ms, gathering every trigger until then into one. */
  private schedule(trigger: string, delay = this.options.debounceMs ?? 100): void {
    if (!this.active.config.auto || this.disposed) return;
    this.timerTrigger ??= trigger;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      const t = this.timerTrigger ?? trigger;
      this.timer = undefined;
      this.timerTrigger = undefined;
      this.sync(t).catch(() => {}); // logged by run()
    }, delay);
  }

  // ---- syncing -----------------------------------------------------------------------------

  sync(trigger = "manual"): Promise<SyncResult> {
    if (!this.running) {
      const run = this.run(trigger).finally(() => {
        this.running = undefined;
        const queued = this.queued;
        this.queued = undefined;
        if (queued) this.sync(queued.trigger).then(queued.resolve, queued.reject);
      });
      this.running = run;
      return run;
    }
    if (!this.queued) {
      let resolve!: Deferred["resolve"];
      let reject!: Deferred["reject"];
      const promise = new Promise<SyncResult>((res, rej) => ((resolve = res), (reject = rej)));
      this.queued = { trigger, promise, resolve, reject };
    }
    return this.queued.promise;
  }

  private async run(trigger: string): Promise<SyncResult> {
    const log = this.ctx.logger;
    const automatic = AUTOMATIC.has(trigger);
    if (!this.roster.loaded) {
      if (automatic || this.disposed) return { plan: { changes: [], heldBack: 0 }, applied: [], failed: [], trigger };
      await this.roster.whenLoaded(); // a caller's sync waits for the roster
    }
    const { rules } = this.active;
    const computed = this.plan();
    let plan: SyncPlan;
    try {
      plan = checkPlan(await this.hooks.beforeGroupSync.transform(computed));
    } catch (err) {
      log.error({ trigger, err: (err as Error).message }, "group sync aborted by beforeGroupSync: nothing applied");
      throw err;
    }
    const result: SyncResult = { plan, applied: [], failed: [], trigger };
    if (plan.changes.length > 0) {
      this.writing = new Set(plan.changes.map((c) => c.jid));
      const outcome = await applyPlan(plan.changes, this.roster, {
        by: AUDIT_BY,
        limits: this.options.limits,
        concurrency: this.options.concurrency ?? DEFAULT_CONCURRENCY,
        retries: this.options.retries,
        backoffMs: this.options.backoffMs,
        wantsMutual: (jid) => rules.contacts.get(jid)?.subscribe === true,
        onSubscribed: (jid) => this.asked.add(jid),
        addressOf: (jid) => rules.contacts.get(jid)?.address ?? jid,
        logger: log,
      }).finally(() => (this.writing = new Set()));
      result.applied = outcome.applied.map((a) => a.change);
      result.failed = outcome.failed;
      for (const { change, sent } of outcome.applied) if (sent && change.op !== "remove") this.noteStubborn(change);
    }
    if (computed.changes.length > 0 || plan.changes.length > 0 || computed.heldBack > 0 || !automatic) {
      const level = result.failed.length > 0 ? "warn" : "info";
      log[level](
        { trigger, planned: computed.changes.length, applied: result.applied.length, failed: result.failed.length, heldBack: plan.heldBack },
        "group sync done",
      );
      if (plan.heldBack > 0) log.warn({ heldBack: plan.heldBack, maxPerRun: rules.prune.maxPerRun }, "prune: removals held back by maxPerRun");
      await this.hooks.afterGroupSync.emit(result);
    }
    return result;
  }

  /** After a set: did the server keep the item as sent? If it kept something else, remember that. */
  private noteStubborn(change: GroupChange): void {
    const item = this.roster.get(change.jid);
    if (!item) return;
    const { limits } = this.options;
    const sent = itemKey(cleanName(change.name.after ?? undefined, limits), cleanGroups(change.groups.after, limits));
    const kept = itemKey(item.name, item.groups);
    if (kept === sent) return;
    this.stubborn.set(change.jid, kept);
    this.ctx.logger.warn({ jid: change.jid, sent: JSON.parse(sent), kept: JSON.parse(kept) }, "group sync: the server kept a different item than the one set; leaving this contact alone while it stays so");
  }
}
