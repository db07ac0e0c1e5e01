import assert from "node:assert/strict";
import { fc } from "./_dev_deps.ts";
import { Regex, RegexSyntaxError } from "../lib/query/regex.ts";

function matches(pattern: string, text: string): boolean {
  return new Regex(pattern).matchStart(text);
}

Deno.test("Regex matches at the start of the text, like Python's re.match, without reaching the end", () => {
  assert.equal(matches("ab", "abc"), true);
  assert.equal(matches("bc", "abc"), false);
  assert.equal(matches("a.c$", "abc"), true);
  assert.equal(matches("a.c$", "abcd"), false);
  assert.equal(matches("", "anything"), true);
  assert.equal(matches("x*", ""), true);
  assert.equal(matches("x+", ""), false);
});

Deno.test("Regex supports classes, repeats, alternation, groups and Python's escapes", () => {
  const cases: [string, string, boolean][] = [
    ["[a-c]+x", "abcabx", true],
    ["[^a-c]", "d", true],
    ["[^a-c]", "b", false],
    ["(?:ab|cd){2}$", "abcd", true],
    ["(?:ab|cd){2}$", "abcdab", false],
    ["a{2,3}$", "aaa", true],
    ["a{2,3}$", "aaaa", false],
    ["a{,2}b", "aab", true],
    ["a{2,}b", "ab", false],
    ["x{", "x{", true], // a brace that is no repeat is a literal
    [String.raw`\d+\.\d+`, "3.14", true],
    [String.raw`\w+\s\W`, "lr_1 !", true],
    [String.raw`\bcat\b`, "cat food", true],
    [String.raw`.*\bcat\b`, "concatenate", false],
    [String.raw`\Aab\Z`, "ab", true],
    [String.raw`ab\Z`, "ab\n", false],
    ["ab$", "ab\n", true], // Python's $ matches before a final newline
    ["(?P<run>lr)-\\d", "lr-1", true],
    ["a(?#a comment)b", "ab", true],
    [String.raw`\x41\u00e9\101`, "AéA", true], // three octal digits, as in Python
    [String.raw`\x41\u00e9\0`, "Aé\0", true],
    [String.raw`[\d-]+$`, "12-3", true],
    ["[]a]+$", "]a]", true],
    ["a.c", "a\nc", false],
    ["(?s)a.c", "a\nc", true],
    ["(?m).*^b", "a\nb", false], // . stops at the newline without (?s)
    ["(?ms).*^b", "a\nb", true],
    ["(?m)a$", "a\nb", true],
    ["a$", "a\nb", false],
    ["^b", "a\nb", false],
    ["(?i)lr", "LR", true],
    ["(?i:l)r", "Lr", true],
    ["(?i:l)r", "LR", false],
    ["(?i)straße", "STRASSE", false],
    ["(?i)é", "É", true],
    ["😀+$", "😀😀", true], // by code point
    [".$", "😀", true],
    ["a*?b", "aab", true],
  ];
  for (const [pattern, text, expected] of cases) {
    assert.equal(
      matches(pattern, text),
      expected,
      `${pattern} on ${JSON.stringify(text)}`,
    );
  }
});

Deno.test("Regex refuses what needs backtracking and what Python refuses, naming the position", () => {
  const refused: [string, RegExp][] = [
    ["(a)\\1", /backreferences are not supported/],
    ["\\477", /outside of range/],
    ["(?P<x>a)(?P=x)", /backreferences are not supported/],
    ["a(?=b)", /lookahead and lookbehind are not supported/],
    ["(?<!a)b", /lookahead and lookbehind are not supported/],
    ["(?>a)", /atomic groups are not supported/],
    ["a*+", /possessive repeats are not supported/],
    ["a**", /multiple repeat/],
    ["*a", /nothing to repeat/],
    ["^*", /nothing to repeat/],
    ["(a", /missing \), unterminated subpattern/],
    ["a)", /unbalanced parenthesis/],
    ["[ab", /unterminated character set/],
    ["[z-a]", /bad character range/],
    ["a{3,2}", /min repeat greater than max repeat/],
    ["\\q", /bad escape \\q/],
    ["\\N{DIGIT ONE}", /named characters .* are not supported/],
    ["a(?i)b", /global flags like \(\?i\) must come at the start/],
    ["(?x)a b", /flag x is not supported/],
    ["a{10001}", /repeat count over 10000/],
    ["(?:a{1000}){1000}", /pattern is too large/],
  ];
  for (const [pattern, message] of refused) {
    assert.throws(() => new Regex(pattern), (error: unknown) => {
      assert.ok(error instanceof RegexSyntaxError, pattern);
      assert.match(error.message, message, pattern);
      assert.match(error.message, / at position \d+$/, pattern);
      return true;
    });
  }
});

Deno.test("Regex answers a catastrophic pattern in time linear in the text", () => {
  const text = "a".repeat(50_000) + "!";
  const started = performance.now();
  assert.equal(matches("(a+)+$", text), false);
  assert.equal(matches("(a|aa)*b", text), false);
  assert.equal(matches("(a*)*$", text), false);
  // Backtracking engines take longer than the age of the universe here.
  assert.ok(performance.now() - started < 5_000);
});

Deno.test("Regex calls its check while it walks a long text, so a deadline can stop it", () => {
  let calls = 0;
  const regex = new Regex("(a|b)*c");
  assert.equal(regex.matchStart("ab".repeat(10_000), () => calls++), false);
  assert.ok(calls >= 4, `check called ${calls} times`);
  assert.throws(
    () =>
      regex.matchStart("ab".repeat(10_000), () => {
        throw new Error("deadline");
      }),
    /deadline/,
  );
});

// Patterns over {a, b, c} built from what both engines read alike.
const pattern: fc.Arbitrary<string> = fc.letrec<{ re: string; atom: string }>(
  (tie) => ({
    atom: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.constantFrom("a", "b", "c", ".", "[ab]", "[^a]", "[a-b]"),
      tie("re").map((r) => `(?:${r})`),
    ),
    re: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      tie("atom"),
      fc.tuple(
        tie("atom"),
        fc.constantFrom("*", "+", "?", "{2}", "{1,2}", "{0,3}", "{2,}", "*?"),
      ).map(([a, q]) => a + q),
      fc.tuple(tie("re"), tie("re")).map(([a, b]) => a + b),
      fc.tuple(tie("re"), tie("re")).map(([a, b]) => `${a}|${b}`),
      fc.constant("$"),
    ),
  }),
).re;

Deno.test("Regex gives the same yes-or-no answer as a backtracking engine on random patterns", () => {
  fc.assert(
    fc.property(
      pattern,
      fc.stringMatching(/^[abc]{0,12}$/),
      (p, text) => {
        const expected = new RegExp(p, "y").test(text);
        assert.equal(
          new Regex(p).matchStart(text),
          expected,
          `${p} on ${JSON.stringify(text)}`,
        );
      },
    ),
    { numRuns: 3000 },
  );
});
