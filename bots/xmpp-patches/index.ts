/**
 * Fixes for xmpp.js 0.14.0, one module each. Each probes the code it replaces by behaviour and applies
 * only if the bug is there (else it logs why not), so an upgrade can neither drop a fix unseen nor
 * double one. At run time, not patch-package or `overrides`: roster-bot is a library, and those reach
 * only the root project; a fork would pin sasl-scram-sha-1 for every consumer.
 */
import { probeClient, type ClientFactory } from "./probe-client.ts";
import { patchLog, recordStatus, runPatch, setPatchLog, type PatchLogger, type PatchStatus } from "./runner.ts";
import { scramPbkdf2Patch, scramTarget } from "./scram-pbkdf2.ts";
import { smInboundPatch } from "./sm-inbound-count.ts";
import { smQueuePatch } from "./sm-unresumable-queue.ts";
import { switches, type SmTarget } from "./stream-management.ts";
import { saslTarget, utf8SaslPatch } from "./utf8-sasl.ts";

export { probeClient } from "./probe-client.ts";
export { runPatch, xmppPatchStatus, type PatchLogger, type PatchStatus } from "./runner.ts";
export { scramPbkdf2Patch, type Bitops } from "./scram-pbkdf2.ts";
export { patchClient, smInboundPatch } from "./sm-inbound-count.ts";
export { dropUnresumableQueue, smQueuePatch } from "./sm-unresumable-queue.ts";
export type { SmTarget } from "./stream-management.ts";
export { saslFirstResponse, saslTarget, utf8SaslPatch, type SaslTarget } from "./utf8-sasl.ts";

let verification: Promise<PatchStatus[]> | undefined;

/**
 * Probes every fix against the xmpp.js that `create` belongs to and applies those whose bug is there.
 * Runs once per process (later calls get the same result) and never rejects.
 */
export function verifyXmppPatches(create: ClientFactory, logger?: PatchLogger): Promise<PatchStatus[]> {
  verification ??= (async () => {
    if (logger) setPatchLog(logger);
    const newClient = () => probeClient(create);
    const sm = (): SmTarget => ({ newClient, switches });
    const results = [
      await runPatch(utf8SaslPatch, () => saslTarget(create), patchLog()),
      await runPatch(scramPbkdf2Patch, () => scramTarget(create), patchLog()),
      await runPatch(smInboundPatch, sm, patchLog()),
      await runPatch(smQueuePatch, sm, patchLog()),
    ];
    for (const status of results) recordStatus(status);
    return results;
  })();
  return verification;
}
