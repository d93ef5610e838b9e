// Integration tests need the prosody binary: install it once (as root) or fail with the command to run.
import { ensureProsody } from "../scripts/prosody.ts";

export default function setup(): void {
  ensureProsody();
}
