/** The schema of a policy test case file (`roster-bot test`): a YAML list of cases, strict keys. */
import { z } from "zod";
import { parseJid } from "../../../bots/jid.ts";
import { SubscriptionAction } from "../policy/match-schema.ts";
import { SUBSCRIPTIONS } from "../subscription.ts";

/** What a case can say about the `block` of the deciding rule. */
export const BLOCK_EXPECTATIONS = ["none", "bare", "domain"] as const;
export type BlockExpectation = (typeof BLOCK_EXPECTATIONS)[number];

const CaseJid = z.string().superRefine((value, ctx) => {
  try {
    parseJid(value);
  } catch (err) {
    ctx.addIssue({ code: "custom", input: value, message: `"${value}" is not a JID: ${(err as Error).message}` });
  }
});

const GroupName = z.string().min(1, { message: "a group name cannot be empty" });

const RosterFactsSchema = z
  .strictObject({
    groups: z.array(GroupName).default([]).describe("The contact's roster groups"),
    subscription: z.enum(SUBSCRIPTIONS).default("none").describe("The contact's subscription state"),
  })
  .describe("The contact is in the roster, with these groups and subscription (absent: not in the roster)");

const EXPECTATIONS = ["expect", "rule", "block", "groups"] as const;

export const PolicyCaseSchema = z
  .strictObject({
    name: z.string().min(1).optional().describe("What the case pins down (shown when it fails)"),
    jid: CaseJid.describe("The JID asking for a subscription"),
    roster: RosterFactsSchema.optional(),
    expect: SubscriptionAction.optional().describe("The action the rules (or the default) must give"),
    rule: z.string().min(1).optional().describe('The rule that must decide; "default": no rule matches'),
    block: z.enum(BLOCK_EXPECTATIONS).optional().describe("What the deciding rule must block: none, the bare JID or the domain"),
    groups: z.array(GroupName).optional().describe("The groups group sync leaves on the contact (order-free)"),
  })
  .superRefine((c, ctx) => {
    if (EXPECTATIONS.every((key) => c[key] === undefined)) {
      ctx.addIssue({ code: "custom", input: c, message: `a case needs at least one of ${EXPECTATIONS.join(", ")}` });
    }
  });

export const PolicyCaseFileSchema = z.array(PolicyCaseSchema).describe("Policy test cases");

export type PolicyCaseInput = z.output<typeof PolicyCaseSchema>;
