import { describe, expect, it } from "vitest";
import { substituteEnv, substituteString, type EnvProblem } from "./env.ts";

const ENV = { HOST: "example.org", PORT: "5333", EMPTY: "", SPACE: " " };

function sub(text: string, env: NodeJS.ProcessEnv = ENV): { out: string; problems: string[] } {
  const problems: EnvProblem[] = [];
  const out = substituteString(text, ["at"], env, problems);
  return { out, problems: problems.map((p) => p.message) };
}

describe("${VAR} and ${VAR:-default} in config strings", () => {
  it.each([
    // [written, result]
    ["${HOST}", "example.org"],
    ["xmpp://${HOST}:${PORT}", "xmpp://example.org:5333"],
    ["${HOST}${PORT}", "example.org5333"],
    ["${EMPTY}", ""], // set but empty: the empty string, as in the shell
    ["${PORT:-5222}", "5333"],
    ["xmpp://127.0.0.1:${UNSET:-5222}", "xmpp://127.0.0.1:5222"],
    ["${EMPTY:-5222}", "5222"], // empty counts as unset with :-
    ["${SPACE:-x}", " "], // a blank value is a value
    ["${UNSET:-}", ""], // an empty default
    ["${UNSET:-a b:-c/d?e=f&g}", "a b:-c/d?e=f&g"], // the default runs to the first }
    ["${UNSET:-x}}", "x}"], // a second } is text
    ["${UNSET:-$HOME}", "$HOME"], // $ without braces is text, also in a default
    ["$${HOST}", "$example.org"], // no escape form: $ before a reference is text
    ["$HOST and $", "$HOST and $"], // only the braced form is a reference
    ["${1HOST} ${} ${HOST-x} ${HOST:=x} ${HO ST}", "${1HOST} ${} ${HOST-x} ${HOST:=x} ${HO ST}"], // not references: as written
    ["${HOST", "${HOST"], // unclosed
    ["${HOST:-x", "${HOST:-x"], // unclosed with a default
  ])("%j gives %j", (text, expected) => {
    expect(sub(text)).toEqual({ out: expected, problems: [] });
  });

  it("a value is not read again: a reference inside a variable stays as it is", () => {
    expect(sub("${A}", { A: "${HOST}", HOST: "x" })).toEqual({ out: "${HOST}", problems: [] });
    expect(sub("${UNSET:-${}", { HOST: "x" }).problems).toHaveLength(1);
  });

  it("an unset variable without a default is a problem, once per use, and the text stays as written", () => {
    expect(sub("${NOPE}/${NOPE}/${HOST}")).toEqual({
      out: "${NOPE}/${NOPE}/example.org",
      problems: ["environment variable NOPE is not set", "environment variable NOPE is not set"],
    });
  });

  it("a default holding another reference is a problem (nesting is not supported)", () => {
    expect(sub("${UNSET:-${HOST}}")).toEqual({ out: "${UNSET:-${HOST}}", problems: ["the default of ${UNSET:-...} cannot hold another ${...}"] });
  });

  it("walks mappings and lists with each string's path, and skips the paths asked", () => {
    const problems: EnvProblem[] = [];
    const out = substituteEnv(
      { a: ["${HOST}", { b: "${NOPE}" }], keep: "${NOPE}", n: 5, t: true, z: null },
      [],
      ENV,
      (p) => p[0] === "keep",
      problems,
    );
    expect(out).toEqual({ a: ["example.org", { b: "${NOPE}" }], keep: "${NOPE}", n: 5, t: true, z: null });
    expect(problems).toEqual([{ path: ["a", 1, "b"], message: "environment variable NOPE is not set" }]);
  });
});
