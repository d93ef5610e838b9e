/** `npm run demo` end to end: it finishes, exits 0, and its table shows the policy at work. */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { serverKind } from "../../scripts/xmpp-server.ts";
import { REPO_ROOT } from "../helpers/tmp.ts";

// `npm run demo` starts Prosody whatever XMPP_SERVER says: the Prosody run covers it, the ejabberd run would repeat it.
describe.skipIf(serverKind() === "ejabberd")("npm run demo", () => {
  it("runs the whole story within a minute and prints the decisions", () => {
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, "node_modules", "tsx", "dist", "cli.mjs"), path.join(REPO_ROOT, "scripts", "demo.ts")], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 90_000,
    });
    const out = r.stdout;
    expect(r.status, `${out}\n${r.stderr}`).toBe(0);
    expect(Date.now() - t0).toBeLessThan(60_000);
    const row = (jid: string) => out.split("\n").find((l) => l.startsWith(jid + " ")) ?? "";
    expect(row("alice@company.test")).toMatch(/mutual\s+rule colleagues\s+approved\s+Colleagues/);
    expect(row("carol@partner.test")).toMatch(/accept\s+rule partners\s+approved\s+Partners/);
    expect(row("erin@visitor.test")).toMatch(/ask → accept\s+rule visitors → admin@company\.test\s+approved\s+Visitors/);
    expect(row("frank@stranger.test")).toMatch(/reject\s+default\s+refused\s+-/);
    expect(row("spam7@stranger.test")).toMatch(/reject\s+rule spam-patterns\s+refused/);
    expect(row("mallory@spam.test")).toMatch(/reject\s+rule spam-domains\s+refused/);
    expect(out).toContain("the bot exited with code 0");
  }, 120_000);
});
