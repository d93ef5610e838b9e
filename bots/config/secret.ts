import { inspect } from "node:util";

/**
 * A value that must never reach a log line: it prints, inspects and serializes as "[redacted]".
 * Call reveal() only where the value is handed to the library that needs it.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return "[redacted]";
  }

  toJSON(): string {
    return "[redacted]";
  }

  [inspect.custom](): string {
    return "[redacted]";
  }
}
