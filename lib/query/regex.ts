/**
 * The regular expressions of the query language's `match`: a subset of
 * Python's `re` syntax, matched in time linear in the text (a Thompson NFA
 * simulated breadth-first, never backtracking), so no pattern can stall a
 * search (docs/ARCHITECTURE.md, "Queries").
 *
 * Supported: literals; `.`; classes `[...]` and `[^...]` with ranges;
 * `\d \D \w \W \s \S` (Unicode, as Python's `str` patterns); `\b \B \A \Z`;
 * `^` and `$` (Python's: `$` also matches before a final newline);
 * `* + ? {m} {m,} {,n} {m,n}` and their lazy forms; `|`; groups `(...)`,
 * `(?:...)`, `(?P<name>...)`; comments `(?#...)`; flags `(?i)`, `(?m)`,
 * `(?s)` at the start and scoped `(?i:...)`; escapes `\n \t \r \f \v \a`,
 * octal `\0`, `\xhh`, `\uXXXX`, `\UXXXXXXXX`. Refused with an error:
 * backreferences, lookaround, atomic groups and possessive quantifiers
 * (they need backtracking), `\N{...}`, and other flags.
 *
 * Matching is by code point. `match` anchors at the start of the text and
 * need not reach its end, like Python's `re.match`.
 *
 * @module
 */

/** A pattern that cannot be compiled; `index` is the offset in the pattern (code units). */
export class RegexSyntaxError extends Error {
  override name = "RegexSyntaxError";
  /** Where in the pattern the problem is (0-based, UTF-16 code units). */
  readonly index: number;

  /** `problem` at `index` of the pattern. */
  constructor(problem: string, index: number) {
    super(`${problem} at position ${index}`);
    this.index = index;
  }
}

/** Most instructions a compiled pattern may have (counted repeats expand). */
export const MAX_PROGRAM = 20_000;

/** A compiled pattern. */
export class Regex {
  readonly source: string;
  #program: _Inst[];

  /** Compiles `source`; throws {@linkcode RegexSyntaxError} saying what and where. */
  constructor(source: string) {
    this.source = source;
    const parser = new _Parser(source);
    const node = parser.parse();
    const program: _Inst[] = [];
    _emit(node, program);
    program.push({ op: "match" });
    if (program.length > MAX_PROGRAM) {
      throw new RegexSyntaxError(
        `pattern is too large once its repeats are expanded (${program.length} steps, at most ${MAX_PROGRAM})`,
        0,
      );
    }
    this.#program = program;
  }

  /**
   * Whether the pattern matches at the start of `text` (it need not reach
   * the end). `check`, when given, is called every few thousand characters
   * (a deadline can throw from it).
   */
  matchStart(text: string, check?: () => void): boolean {
    const program = this.#program;
    const n = program.length;
    let current = new Int32Array(n);
    let next = new Int32Array(n);
    let currentCount = 0;
    const onList = new Int32Array(n).fill(-1);
    let generation = 0;

    // Adds `pc` and everything reachable without consuming input.
    const stack = new Int32Array(n + 1);
    const addFrom = (
      start: number,
      list: Int32Array,
      count: number,
      prev: number,
      at: number,
      cp: number,
    ): number => {
      let top = 0;
      stack[top++] = start;
      while (top > 0) {
        const pc = stack[--top]!;
        if (onList[pc] === generation) continue;
        onList[pc] = generation;
        const inst = program[pc]!;
        switch (inst.op) {
          case "jmp":
            stack[top++] = inst.x;
            break;
          case "split":
            // Push y first so that x is explored first (order does not change the answer).
            stack[top++] = inst.y;
            stack[top++] = inst.x;
            break;
          case "assert":
            if (_holds(inst.kind, text, at, prev, cp)) stack[top++] = pc + 1;
            break;
          case "match":
            return -1;
          default:
            list[count++] = pc;
        }
      }
      return count;
    };

    let at = 0;
    let prev = -1;
    let cp = at < text.length ? text.codePointAt(at)! : -1;
    generation++;
    currentCount = addFrom(0, current, 0, prev, at, cp);
    if (currentCount < 0) return true;
    let sinceCheck = 0;
    while (currentCount > 0 && at < text.length) {
      const width = cp > 0xffff ? 2 : 1;
      const nextAt = at + width;
      const nextCp = nextAt < text.length ? text.codePointAt(nextAt)! : -1;
      generation++;
      let nextCount = 0;
      for (let i = 0; i < currentCount; i++) {
        const inst = program[current[i]!]!;
        if (inst.op === "char" && inst.test(cp)) {
          nextCount = addFrom(
            current[i]! + 1,
            next,
            nextCount,
            cp,
            nextAt,
            nextCp,
          );
          if (nextCount < 0) return true;
        }
      }
      [current, next] = [next, current];
      currentCount = nextCount;
      prev = cp;
      at = nextAt;
      cp = nextCp;
      if (check !== undefined && ++sinceCheck >= 4096) {
        sinceCheck = 0;
        check();
      }
    }
    return false;
  }
}

// ---------------------------------------------------------------- program

type _Assertion =
  | "bol" // ^
  | "bol_m" // ^ with (?m)
  | "eol" // $
  | "eol_m" // $ with (?m)
  | "start" // \A
  | "end" // \Z
  | "word" // \b
  | "not_word"; // \B

type _Inst =
  | { op: "char"; test: (cp: number) => boolean }
  | { op: "split"; x: number; y: number }
  | { op: "jmp"; x: number }
  | { op: "assert"; kind: _Assertion }
  | { op: "match" };

const NEWLINE = 10;

function _holds(
  kind: _Assertion,
  text: string,
  at: number,
  prev: number,
  cp: number,
): boolean {
  switch (kind) {
    case "start":
    case "bol":
      return at === 0;
    case "bol_m":
      return at === 0 || prev === NEWLINE;
    case "end":
      return at >= text.length;
    case "eol":
      return at >= text.length ||
        (at === text.length - 1 && cp === NEWLINE);
    case "eol_m":
      return at >= text.length || cp === NEWLINE;
    case "word":
    case "not_word": {
      const boundary = _isWord(prev) !== _isWord(cp);
      return kind === "word" ? boundary : !boundary;
    }
  }
}

// ---------------------------------------------------------------- syntax tree

type _Node =
  | { type: "empty" }
  | { type: "char"; test: (cp: number) => boolean }
  | { type: "assert"; kind: _Assertion }
  | { type: "concat"; items: _Node[] }
  | { type: "alt"; items: _Node[] }
  | { type: "repeat"; node: _Node; min: number; max: number };

const INFINITE = -1;

function _emit(node: _Node, out: _Inst[]): void {
  switch (node.type) {
    case "empty":
      return;
    case "char":
      out.push({ op: "char", test: node.test });
      return;
    case "assert":
      out.push({ op: "assert", kind: node.kind });
      return;
    case "concat":
      for (const item of node.items) _emit(item, out);
      return;
    case "alt": {
      // split L1, next; L1: a; jmp end; next: split L2, ... ; last: z
      const jumps: { op: "jmp"; x: number }[] = [];
      node.items.forEach((item, i) => {
        if (i < node.items.length - 1) {
          const split = { op: "split" as const, x: out.length + 1, y: -1 };
          out.push(split);
          _emit(item, out);
          const jump = { op: "jmp" as const, x: -1 };
          out.push(jump);
          jumps.push(jump);
          split.y = out.length;
        } else _emit(item, out);
      });
      for (const jump of jumps) jump.x = out.length;
      return;
    }
    case "repeat": {
      _guard(out);
      for (let i = 0; i < node.min; i++) {
        _emit(node.node, out);
        _guard(out);
      }
      if (node.max === INFINITE) {
        // L: split body, end; body; jmp L
        const split = { op: "split" as const, x: out.length + 1, y: -1 };
        const loop = out.length;
        out.push(split);
        _emit(node.node, out);
        out.push({ op: "jmp", x: loop });
        split.y = out.length;
        return;
      }
      // (x(x(x)?)?)? for the optional copies
      const splits: { op: "split"; x: number; y: number }[] = [];
      for (let i = node.min; i < node.max; i++) {
        const split = { op: "split" as const, x: out.length + 1, y: -1 };
        out.push(split);
        splits.push(split);
        _emit(node.node, out);
        _guard(out);
      }
      for (const split of splits) split.y = out.length;
      return;
    }
  }
}

/** Stops a repeat from expanding into millions of steps before the size check. */
function _guard(out: _Inst[]): void {
  if (out.length > MAX_PROGRAM) {
    throw new RegexSyntaxError(
      `pattern is too large once its repeats are expanded (more than ${MAX_PROGRAM} steps)`,
      0,
    );
  }
}

// ---------------------------------------------------------------- parser

interface _Flags {
  ignoreCase: boolean;
  multiline: boolean;
  dotAll: boolean;
}

class _Parser {
  #src: string;
  #i = 0;
  #flags: _Flags = { ignoreCase: false, multiline: false, dotAll: false };

  constructor(source: string) {
    this.#src = source;
  }

  parse(): _Node {
    this.#globalFlags();
    const node = this.#alternation(this.#flags);
    if (this.#i < this.#src.length) {
      // Only an unmatched ')' stops the top level early.
      this.#fail("unbalanced parenthesis");
    }
    return node;
  }

  #fail(problem: string, at = this.#i): never {
    throw new RegexSyntaxError(problem, at);
  }

  #peek(offset = 0): string | undefined {
    return this.#src[this.#i + offset];
  }

  /** `(?ims)` at the very start sets flags for the whole pattern. */
  #globalFlags(): void {
    while (this.#src.startsWith("(?", this.#i)) {
      const m = /^\(\?([a-zA-Z]+)\)/.exec(this.#src.slice(this.#i));
      if (m === null) return;
      this.#flags = this.#readFlags(m[1]!, this.#flags, this.#i + 2);
      this.#i += m[0].length;
    }
  }

  #readFlags(letters: string, base: _Flags, at: number): _Flags {
    const flags = { ...base };
    for (const letter of letters) {
      if (letter === "i") flags.ignoreCase = true;
      else if (letter === "m") flags.multiline = true;
      else if (letter === "s") flags.dotAll = true;
      else if (letter === "u") continue; // Unicode: always
      else {
        this.#fail(
          `flag ${letter} is not supported: only i, m and s (and u, always on)`,
          at,
        );
      }
    }
    return flags;
  }

  #alternation(flags: _Flags): _Node {
    const items = [this.#concat(flags)];
    while (this.#peek() === "|") {
      this.#i++;
      items.push(this.#concat(flags));
    }
    return items.length === 1 ? items[0]! : { type: "alt", items };
  }

  #concat(flags: _Flags): _Node {
    const items: _Node[] = [];
    while (this.#i < this.#src.length) {
      const c = this.#peek()!;
      if (c === "|" || c === ")") break;
      const atomStart = this.#i;
      const atom = this.#atom(flags);
      if (atom === null) continue;
      // An assertion repeats only inside a group, as in Python: `(?:$)*`, not `$*`.
      const bare = atom.type === "assert" && this.#src[atomStart] !== "(";
      items.push(this.#quantified(atom, bare));
    }
    if (items.length === 0) return { type: "empty" };
    return items.length === 1 ? items[0]! : { type: "concat", items };
  }

  #quantified(atom: _Node, bareAssertion: boolean): _Node {
    const start = this.#i;
    const repeat = this.#repeat();
    if (repeat === null) return atom;
    if (bareAssertion) this.#fail("nothing to repeat", start);
    // Lazy or greedy give the same yes-or-no answer.
    if (this.#peek() === "?") this.#i++;
    else if (this.#peek() === "+") {
      this.#fail(
        "possessive repeats are not supported (they need backtracking)",
      );
    }
    const again = this.#i;
    if (this.#repeat() !== null) this.#fail("multiple repeat", again);
    return { type: "repeat", node: atom, min: repeat.min, max: repeat.max };
  }

  /** Reads `* + ? {m,n}` when one comes next; null (nothing consumed) otherwise. */
  #repeat(): { min: number; max: number } | null {
    const start = this.#i;
    const c = this.#peek();
    if (c === "*" || c === "+" || c === "?") {
      this.#i++;
      return { min: c === "+" ? 1 : 0, max: c === "?" ? 1 : INFINITE };
    }
    if (c !== "{") return null;
    const m = /^\{(\d*)(,?)(\d*)\}/.exec(this.#src.slice(this.#i));
    // Python reads a brace that is not a repeat as a literal.
    if (m === null || (m[1] === "" && m[2] === "")) return null;
    const min = m[1] === "" ? 0 : Number(m[1]);
    const max = m[2] === "" ? min : m[3] === "" ? INFINITE : Number(m[3]);
    if (max !== INFINITE && max < min) {
      this.#fail("min repeat greater than max repeat", start);
    }
    if (min > 10_000 || max > 10_000) {
      this.#fail("repeat count over 10000", start);
    }
    this.#i += m[0].length;
    return { min, max };
  }

  /** One atom, or null for something that matches nothing and takes no place (a comment). */
  #atom(flags: _Flags): _Node | null {
    const start = this.#i;
    const c = this.#src.codePointAt(this.#i)!;
    const ch = String.fromCodePoint(c);
    this.#i += ch.length;
    switch (ch) {
      case ".":
        return {
          type: "char",
          test: flags.dotAll ? () => true : (cp) => cp !== NEWLINE,
        };
      case "^":
        return { type: "assert", kind: flags.multiline ? "bol_m" : "bol" };
      case "$":
        return { type: "assert", kind: flags.multiline ? "eol_m" : "eol" };
      case "[":
        return this.#class(flags, start);
      case "(":
        return this.#group(flags, start);
      case "*":
      case "+":
      case "?":
        return this.#fail("nothing to repeat", start);
      case "\\":
        return this.#escape(flags, start);
      default:
        return _literal(c, flags);
    }
  }

  #group(flags: _Flags, start: number): _Node | null {
    let inner = flags;
    if (this.#peek() === "?") {
      const rest = this.#src.slice(this.#i + 1);
      if (rest.startsWith(":")) this.#i += 2;
      else if (rest.startsWith("P<")) {
        const m = /^P<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
        if (m === null) this.#fail("bad group name", this.#i + 3);
        this.#i += 1 + m[0].length;
      } else if (rest.startsWith("#")) {
        const close = this.#src.indexOf(")", this.#i);
        if (close < 0) this.#fail("missing ), unterminated comment", start);
        this.#i = close + 1;
        return null;
      } else if (/^(=|!|<=|<!)/.test(rest)) {
        this.#fail(
          "lookahead and lookbehind are not supported (matching stays linear in the text)",
          start,
        );
      } else if (rest.startsWith("P=")) {
        this.#fail(
          "backreferences are not supported (matching stays linear in the text)",
          start,
        );
      } else if (rest.startsWith(">")) {
        this.#fail(
          "atomic groups are not supported (they need backtracking)",
          start,
        );
      } else {
        const m = /^([a-zA-Z]*)(?:-([a-zA-Z]*))?:/.exec(rest);
        if (m === null) {
          const global = /^[a-zA-Z]+\)/.test(rest);
          this.#fail(
            global
              ? "global flags like (?i) must come at the start of the pattern"
              : "unknown extension ?" + (rest[0] ?? ""),
            start,
          );
        }
        inner = this.#readFlags(m[1] ?? "", flags, this.#i + 1);
        for (const letter of m[2] ?? "") {
          if (letter === "i") inner.ignoreCase = false;
          else if (letter === "m") inner.multiline = false;
          else if (letter === "s") inner.dotAll = false;
          else this.#fail(`flag ${letter} is not supported`, this.#i + 1);
        }
        this.#i += 1 + m[0].length;
      }
    }
    const node = this.#alternation(inner);
    if (this.#peek() !== ")") {
      this.#fail("missing ), unterminated subpattern", start);
    }
    this.#i++;
    return node;
  }

  #escape(flags: _Flags, start: number): _Node {
    const c = this.#peek();
    if (c === undefined) this.#fail("bad escape (end of pattern)", start);
    switch (c) {
      case "A":
        this.#i++;
        return { type: "assert", kind: "start" };
      case "Z":
        this.#i++;
        return { type: "assert", kind: "end" };
      case "b":
        this.#i++;
        return { type: "assert", kind: "word" };
      case "B":
        this.#i++;
        return { type: "assert", kind: "not_word" };
    }
    if (c >= "1" && c <= "9") {
      // Three octal digits are a character, as in Python; fewer digits a backreference.
      const octal = /^[0-7]{3}/.exec(this.#src.slice(this.#i));
      if (octal !== null) {
        const code = parseInt(octal[0], 8);
        if (code > 0o377) {
          this.#fail(
            `octal escape value \\${octal[0]} outside of range 0-0o377`,
            start,
          );
        }
        this.#i += 3;
        return _literal(code, flags);
      }
      this.#fail(
        "backreferences are not supported (matching stays linear in the text)",
        start,
      );
    }
    const klass = this.#classEscape();
    if (klass !== null) return { type: "char", test: klass };
    return _literal(this.#charEscape(start), flags);
  }

  /** `\d \D \w \W \s \S` as a test, or null (nothing consumed) for any other escape. */
  #classEscape(): ((cp: number) => boolean) | null {
    const c = this.#peek();
    let test: ((cp: number) => boolean) | null = null;
    if (c === "d" || c === "D") test = _isDigit;
    else if (c === "w" || c === "W") test = _isWord;
    else if (c === "s" || c === "S") test = _isSpace;
    if (test === null) return null;
    this.#i++;
    if (c === c!.toUpperCase()) {
      const positive = test;
      return (cp) => cp >= 0 && !positive(cp);
    }
    return test;
  }

  /** A character escape after `\` (already consumed): its code point. */
  #charEscape(start: number): number {
    const c = this.#peek()!;
    this.#i++;
    const simple: Record<string, number> = {
      n: 10,
      t: 9,
      r: 13,
      f: 12,
      v: 11,
      a: 7,
    };
    if (c in simple) return simple[c]!;
    if (c === "0") {
      const m = /^[0-7]{0,2}/.exec(this.#src.slice(this.#i))!;
      this.#i += m[0].length;
      return parseInt(`0${m[0]}`, 8);
    }
    if (c === "x" || c === "u" || c === "U") {
      const width = c === "x" ? 2 : c === "u" ? 4 : 8;
      const hex = this.#src.slice(this.#i, this.#i + width);
      if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) {
        this.#fail(`incomplete escape \\${c}${hex}`, start);
      }
      const code = parseInt(hex, 16);
      if (code > 0x10ffff) this.#fail(`bad escape \\${c}${hex}`, start);
      this.#i += width;
      return code;
    }
    if (c === "N") {
      this.#fail(
        "named characters \\N{...} are not supported: write the character itself or \\uXXXX",
        start,
      );
    }
    if (/[A-Za-z0-9]/.test(c)) this.#fail(`bad escape \\${c}`, start);
    // Any other escaped character stands for itself (\. \* \\ \( ...).
    const cp = this.#src.codePointAt(this.#i - 1)!;
    if (cp > 0xffff) this.#i++;
    return cp;
  }

  #class(flags: _Flags, start: number): _Node {
    let negated = false;
    if (this.#peek() === "^") {
      negated = true;
      this.#i++;
    }
    const tests: ((cp: number) => boolean)[] = [];
    const ranges: [number, number][] = [];
    let first = true;
    for (;;) {
      if (this.#i >= this.#src.length) {
        this.#fail("unterminated character set", start);
      }
      const c = this.#peek()!;
      if (c === "]" && !first) {
        this.#i++;
        break;
      }
      first = false;
      let low: number;
      if (c === "\\") {
        this.#i++;
        if (this.#peek() === undefined) {
          this.#fail("unterminated character set", start);
        }
        const klass = this.#classEscape();
        if (klass !== null) {
          tests.push(klass);
          continue;
        }
        low = this.#peek() === "b"
          ? (this.#i++, 8)
          : this.#charEscape(this.#i - 1);
      } else {
        low = this.#src.codePointAt(this.#i)!;
        this.#i += low > 0xffff ? 2 : 1;
      }
      let high = low;
      if (
        this.#peek() === "-" && this.#peek(1) !== "]" &&
        this.#peek(1) !== undefined
      ) {
        const dash = this.#i;
        this.#i++;
        if (this.#peek() === "\\") {
          this.#i++;
          if (this.#classEscape() !== null) {
            this.#fail("bad character range", dash);
          }
          high = this.#peek() === "b"
            ? (this.#i++, 8)
            : this.#charEscape(this.#i - 1);
        } else {
          high = this.#src.codePointAt(this.#i)!;
          this.#i += high > 0xffff ? 2 : 1;
        }
        if (high < low) this.#fail("bad character range", dash);
      }
      ranges.push([low, high]);
    }
    const inRanges = (cp: number) => {
      for (const [low, high] of ranges) {
        if (cp >= low && cp <= high) return true;
      }
      for (const test of tests) if (test(cp)) return true;
      return false;
    };
    const member = flags.ignoreCase
      ? (cp: number) => _caseVariants(cp).some(inRanges)
      : inRanges;
    return {
      type: "char",
      test: negated ? (cp) => cp >= 0 && !member(cp) : member,
    };
  }
}

function _literal(code: number, flags: _Flags): _Node {
  if (!flags.ignoreCase) return { type: "char", test: (cp) => cp === code };
  const variants = new Set(_caseVariants(code));
  return {
    type: "char",
    test: (cp) => variants.has(cp) || _caseVariants(cp).includes(code),
  };
}

/** The code point and its simple lower- and upper-case forms. */
function _caseVariants(cp: number): number[] {
  if (cp < 0) return [cp];
  const text = String.fromCodePoint(cp);
  const out = [cp];
  for (const other of [text.toLowerCase(), text.toUpperCase()]) {
    // Only one-to-one mappings: "ß".toUpperCase() is "SS", not one character.
    const code = other.codePointAt(0)!;
    if (String.fromCodePoint(code) === other && !out.includes(code)) {
      out.push(code);
    }
  }
  return out;
}

const _DIGIT = /^\p{Nd}$/u;
const _WORD = /^[\p{L}\p{N}_]$/u;

function _isDigit(cp: number): boolean {
  if (cp < 0) return false;
  if (cp < 128) return cp >= 48 && cp <= 57;
  return _DIGIT.test(String.fromCodePoint(cp));
}

function _isWord(cp: number): boolean {
  if (cp < 0) return false;
  if (cp < 128) {
    return (cp >= 48 && cp <= 57) || (cp >= 65 && cp <= 90) ||
      (cp >= 97 && cp <= 122) || cp === 95;
  }
  return _WORD.test(String.fromCodePoint(cp));
}

/** Python's `str.isspace()`: ASCII whitespace, the separators 0x1c-0x1f, NEL and Unicode's spaces. */
function _isSpace(cp: number): boolean {
  if (cp < 0) return false;
  if (cp <= 32) return cp === 32 || (cp >= 9 && cp <= 13) || cp >= 28;
  if (cp === 0x85 || cp === 0xa0 || cp === 0x1680 || cp === 0x3000) return true;
  return (cp >= 0x2000 && cp <= 0x200a) || cp === 0x2028 || cp === 0x2029 ||
    cp === 0x202f || cp === 0x205f;
}
