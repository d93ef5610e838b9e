/** The config files shipped in the repository stay valid and the committed JSON Schema stays current. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { configJsonSchema } from "../bots/config/json-schema.ts";
import { prepareConfig } from "../bots/prepare.ts";
import { REPO_ROOT } from "./helpers/tmp.ts";

describe("shipped config files", () => {
  it("bot.config.yaml is valid", async () => {
    const prepared = await prepareConfig(path.join(REPO_ROOT, "bot.config.yaml"));
    expect(prepared.bots.map((b) => b.bot.id)).toEqual(["main"]);
  });

  it("bot.config.yaml takes the port from PORT, as `npm run local-server` does, and 5222 without it", async () => {
    const service = async (env: NodeJS.ProcessEnv) =>
      (await prepareConfig(path.join(REPO_ROOT, "bot.config.yaml"), { secrets: true, env: { ROSTER_BOT_PASSWORD: "ci", ...env } })).bots[0]!.bot.service;
    expect(await service({})).toBe("xmpp://127.0.0.1:5222");
    expect(await service({ PORT: "" })).toBe("xmpp://127.0.0.1:5222");
    expect(await service({ PORT: "5333" })).toBe("xmpp://127.0.0.1:5333");
  });

  it("bot.config.schema.json is what `roster-bot schema` prints", async () => {
    const committed = JSON.parse(readFileSync(path.join(REPO_ROOT, "bot.config.schema.json"), "utf8"));
    expect(committed).toEqual(await configJsonSchema());
  });
});
