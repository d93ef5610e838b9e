/**
 * The `block` option of a rejecting rule (or of `rateLimit.over: block`): after the `unsubscribed`
 * went out, the sender is blocked at the bot's own server through the blocking part. Whatever
 * becomes of the block, the request stays rejected: a failure is an outcome, never an exception.
 */
import type { BlockingApi, BlockOutcome, BlockSpec } from "./api.ts";
import { blockTarget } from "./blocking/target.ts";

/** What the subscription handler needs of `roster.blocking`. */
export type SubscriptionBlocking = Pick<BlockingApi, "supported" | "block">;

export interface BlockRequest {
  /** The sender's bare JID in normal form. */
  jid: string;
  /** The sender's bare JID as the request spelled it: the entry is named so on the wire. */
  address: string;
  spec: BlockSpec;
  /** Who decided: "rules", "rate-limit", a plugin name. */
  by: string;
  rule: string | undefined;
  reason: string;
}

/** Blocks the sender; "unsupported" without a blocking part, "failed" with the error when it throws. */
export async function blockSender(blocking: SubscriptionBlocking | undefined, request: BlockRequest): Promise<BlockOutcome> {
  const { jid, address, spec, by, rule, reason } = request;
  const failed = (outcome: "unsupported" | "failed", error?: string): BlockOutcome => ({
    jid: blockTarget(jid, spec.scope).jid,
    scope: spec.scope,
    outcome,
    ...(error !== undefined ? { error } : {}),
  });
  if (!blocking) return failed("unsupported");
  try {
    return await blocking.block(address, { scope: spec.scope, ...(spec.forMs !== undefined ? { forMs: spec.forMs } : {}), by, ...(rule ? { rule } : {}), reason });
  } catch (err) {
    return failed("failed", (err as Error).message);
  }
}
