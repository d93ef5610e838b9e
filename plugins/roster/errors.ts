/** Typed roster errors: the server's condition plus the JID and operation it concerns. */

export type RosterOperation = "get" | "set" | "remove" | "subscribe" | "unsubscribe" | "cancelSubscription" | "preApprove" | "approve" | "grant" | "block" | "unblock";

export class RosterError extends Error {
  constructor(
    /** The XMPP error condition (item-not-found, not-acceptable, bad-request, not-allowed, forbidden, ...), or "timeout" / "not-supported" / "offline" / "not-pending". */
    readonly condition: string,
    readonly jid: string,
    readonly operation: RosterOperation,
    message?: string,
  ) {
    super(message ?? `roster ${operation} ${jid} failed: ${condition}`);
    this.name = "RosterError";
  }

  /** Worth retrying later (the server was busy or unreachable), as opposed to a refusal. */
  get transient(): boolean {
    return ["timeout", "offline", "internal-server-error", "resource-constraint", "remote-server-timeout", "service-unavailable", "wait"].includes(
      this.condition,
    );
  }

  static from(err: unknown, jid: string, operation: RosterOperation): RosterError {
    if (err instanceof RosterError) return err;
    const e = err as { condition?: string; name?: string; message?: string };
    if (e?.condition) return new RosterError(e.condition, jid, operation, `roster ${operation} ${jid} failed: ${e.condition}${e.message && e.message !== e.condition ? ` (${e.message})` : ""}`);
    if (e?.name === "TimeoutError") return new RosterError("timeout", jid, operation);
    return new RosterError("offline", jid, operation, `roster ${operation} ${jid} failed: ${e?.message ?? String(err)}`);
  }
}
