import { describe, expect, it } from "vitest";
import type { PolicyTestReport, ReplayReport } from "./api.ts";
import { rosterConfigSchema, type RosterConfig } from "./config.ts";
import { PolicyService, type PolicyEngines } from "./policy-service.ts";

const config = (subscriptions: Record<string, unknown>): RosterConfig => rosterConfigSchema.parse({ subscriptions });
const passed: PolicyTestReport = { files: ["/etc/bot/policy.test.yaml"], total: 2, passed: 2, failed: [] };
const replayed: ReplayReport = {
  files: [],
  lines: 0,
  malformed: 0,
  decisions: 0,
  replayed: 0,
  changed: 0,
  matrix: {},
  flips: [],
  apart: { plugin: 0, admin: 0, rateLimit: 0, other: 0 },
  withoutRosterFacts: 0,
};

/** Engines that record what they were asked with. */
function recordingEngines() {
  const calls: { runTests: [RosterConfig, string][]; replay: Parameters<PolicyEngines["replay"]>[0][]; auditFiles: string[] } = { runTests: [], replay: [], auditFiles: [] };
  const engines: PolicyEngines = {
    runTests: (c, dir) => {
      calls.runTests.push([c, dir]);
      return passed;
    },
    replay: async (options) => {
      calls.replay.push(options);
      return replayed;
    },
    auditFiles: (log) => {
      calls.auditFiles.push(log);
      return [`${log}.1.gz`, log];
    },
  };
  return { engines, calls };
}

const paths = { configDir: "/etc/bot", auditLog: "/var/lib/bot/audit.log" };

describe("PolicyService", () => {
  it("runs the configured cases against the running config and its directory", async () => {
    const { engines, calls } = recordingEngines();
    const running = config({ tests: "policy.test.yaml" });
    expect(await new PolicyService(running, paths, engines).test()).toBe(passed);
    expect(calls.runTests).toEqual([[running, "/etc/bot"]]);
  });

  it("with no cases configured reports none and reads nothing", async () => {
    const { engines, calls } = recordingEngines();
    expect(await new PolicyService(config({}), paths, engines).test()).toEqual({ files: [], total: 0, passed: 0, failed: [] });
    expect(calls.runTests).toEqual([]);
  });

  it("after a reload, tests and replay use the new config", async () => {
    const { engines, calls } = recordingEngines();
    const service = new PolicyService(config({}), paths, engines);
    const next = config({ default: "accept", tests: ["a.yaml", "b.yaml"] });
    service.reload(next);
    await service.test();
    await service.replay();
    expect(calls.runTests[0]![0]).toBe(next);
    expect(calls.replay[0]!.config).toBe(next);
  });

  it("replays the bot's audit log and its rotations, from a time when asked", async () => {
    const { engines, calls } = recordingEngines();
    const running = config({});
    const service = new PolicyService(running, paths, engines);
    expect(await service.replay()).toBe(replayed);
    const since = new Date("2026-11-24T00:00:00Z");
    await service.replay({ since });
    expect(calls.auditFiles).toEqual(["/var/lib/bot/audit.log", "/var/lib/bot/audit.log"]);
    const files = ["/var/lib/bot/audit.log.1.gz", "/var/lib/bot/audit.log"];
    expect(calls.replay).toEqual([
      { files, config: running, configDir: "/etc/bot" },
      { files, config: running, configDir: "/etc/bot", since },
    ]);
  });

  it("a bad case file rejects the call (the caller says why)", async () => {
    const { engines } = recordingEngines();
    engines.runTests = () => {
      throw new Error("policy.test.yaml:3:5: expect must be one of accept, reject");
    };
    await expect(new PolicyService(config({ tests: "policy.test.yaml" }), paths, engines).test()).rejects.toThrow("policy.test.yaml:3:5");
  });
});
