/// <reference lib="dom" />
// @ts-check
// The run page's log: its last lines in time order, numbered, earlier and
// later ones on demand, new ones placed as they come (log_window.js) and
// shown while "follow" is on. Each line is marked by its stream or level
// (stderr apart from stdout). A search asks the server for the matching
// lines, so a long log is never loaded whole; a match opens the log at it.

import { readLogs } from "./api.js";
import { errorText, h, toast } from "./dom.js";
import { fmtClock } from "./format.js";
import { LogWindow } from "./log_window.js";
import { debounce } from "./tasks.js";

/** @import { LogLine } from "./api_types.js" */

/** Lines shown at first, and read by each "Load earlier" or "Load later". */
const LOG_PAGE = 2000;
/** Lines read by each follow; more read again from the end. */
const SINCE_LINES = 5000;
/** Lines kept on the page at most: the oldest go while following a flood. */
const MAX_LINES = 20_000;
/** Matches read by each search page. */
const MATCH_PAGE = 200;
/** Levels styled apart (style.css); stdout, the program's output, unmarked. */
const LEVELS = new Set([
  "stdout",
  "stderr",
  "debug",
  "info",
  "warning",
  "warn",
  "error",
  "critical",
]);

/** A run's log, with its bar: follow, position, search. */
export class RunLog {
  #hash;
  #window = new LogWindow();
  /** The element of each line of the window, in the same order. */
  /** @type {HTMLElement[]} */
  #elements = [];
  #box;
  #results;
  #follow;
  #info;
  #earlier;
  #later;
  #search;
  #stopped = false;
  /** Reads and changes of the window, one at a time. */
  /** @type {Promise<unknown>} */
  #queue = Promise.resolve();
  /** @type {AbortController} */
  #searching = new AbortController();

  /**
   * Appends the log's bar and lines to `content`, and reads its last lines.
   * @param {HTMLElement} content
   * @param {string} hash  The run.
   * @param {boolean} follow  Follow new lines at first (for a live run).
   */
  constructor(content, hash, follow) {
    this.#hash = hash;
    this.#box = h("div.log", { role: "log" });
    this.#results = h("div.log-results", { hidden: true });
    this.#follow = h("input", { type: "checkbox", checked: follow });
    this.#info = h("span.log-info");
    this.#earlier = h("button", { text: "Load earlier", hidden: true });
    this.#later = h("button", { text: "Load later", hidden: true });
    this.#search = h("input.log-search", {
      type: "search",
      placeholder: "Search the log",
      "aria-label": "Search the log",
      spellcheck: false,
    });
    content.append(
      h(
        "div.log-bar",
        {},
        h("label.check", {}, this.#follow, " follow"),
        this.#info,
        this.#earlier,
        this.#later,
        h("span.spacer"),
        this.#search,
      ),
      this.#box,
      this.#results,
    );
    this.#earlier.addEventListener("click", () => this.#run(this.#loadEarlier));
    this.#later.addEventListener("click", () => this.#run(this.#loadLater));
    this.#follow.addEventListener("change", () => {
      if (this.#follow.checked) this.#run(this.#loadTail);
    });
    const search = debounce(() => this.#find(), 300);
    this.#search.addEventListener("input", search);
    this.#search.addEventListener("keydown", (event) => {
      if (event.key === "Enter") this.#find();
      else if (event.key === "Escape") {
        this.#search.value = "";
        this.#find();
      }
    });
    this.#run(this.#loadTail);
  }

  /**
   * Whether new lines are followed.
   * @returns {boolean}
   */
  get following() {
    return this.#follow.checked;
  }

  /**
   * Places the lines stored since the last read (the run is live), and
   * shows those after the last line while following, scrolling to them
   * when the view was at the bottom.
   * @returns {Promise<void>}
   */
  refresh() {
    return this.#run(this.#readSince);
  }

  /** Stops reading: the page shows something else. */
  destroy() {
    this.#stopped = true;
    this.#searching.abort();
  }

  /**
   * Runs `task` after those queued, reporting its failure.
   * @param {() => Promise<void>} task
   * @returns {Promise<void>}
   */
  #run(task) {
    const next = this.#queue.then(() =>
      this.#stopped ? undefined : task.call(this)
    )
      .catch((error) => toast(errorText(error), "error"));
    this.#queue = next;
    return next;
  }

  /** Shows the log's last lines, following from there. */
  async #loadTail() {
    const page = await readLogs(this.#hash, {
      offset: -LOG_PAGE,
      limit: LOG_PAGE,
    });
    if (this.#stopped) return;
    this.#window.reset(page);
    this.#renderAll();
    this.#box.scrollTop = this.#box.scrollHeight;
  }

  async #readSince() {
    const window = this.#window;
    for (let reads = 0;; reads++) {
      const page = await readLogs(this.#hash, {
        since: window.lastSeq,
        limit: SINCE_LINES,
      });
      if (this.#stopped) return;
      if (page.lines.length === SINCE_LINES && reads === 3) {
        // A flood: start again from the end rather than place it all.
        if (this.following) return await this.#loadTail();
      }
      const box = this.#box;
      const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
      const added = window.merge(page, this.following);
      for (const index of added) {
        const element = lineElement(
          /** @type {LogLine} */ (window.lines[index]),
        );
        const next = this.#elements[index];
        if (next) next.before(element);
        else box.append(element);
        this.#elements.splice(index, 0, element);
      }
      const dropped = window.trim(MAX_LINES);
      for (const element of this.#elements.splice(0, dropped)) {
        element.remove();
      }
      this.#number();
      if (added.length > 0) box.querySelector(".muted")?.remove();
      if (this.following && atBottom && added.length > 0) {
        box.scrollTop = box.scrollHeight;
      }
      if (page.lines.length < SINCE_LINES) return;
    }
  }

  async #loadEarlier() {
    const window = this.#window;
    const first = window.lines[0];
    if (first === undefined) return;
    const page = await readLogs(this.#hash, {
      before: first.seq,
      limit: LOG_PAGE,
    });
    if (this.#stopped) return;
    const box = this.#box;
    const height = box.scrollHeight;
    const added = window.prepend(page);
    const elements = window.lines.slice(0, added).map((line) =>
      lineElement(line)
    );
    box.prepend(...elements);
    this.#elements.unshift(...elements);
    this.#number();
    box.scrollTop += box.scrollHeight - height;
  }

  async #loadLater() {
    const window = this.#window;
    const last = window.lines[window.lines.length - 1];
    // Nothing shown yet: the lines that came are the log's last ones.
    if (last === undefined) return await this.#loadTail();
    const page = await readLogs(this.#hash, {
      after: last.seq,
      limit: LOG_PAGE,
    });
    if (this.#stopped) return;
    const added = window.append(page, LOG_PAGE);
    const elements = window.lines.slice(window.lines.length - added)
      .map((line) => lineElement(line));
    this.#box.append(...elements);
    this.#elements.push(...elements);
    this.#number();
  }

  /**
   * Shows the log around line `line` (a number in time order), that line
   * marked; following stops, so that the view stays there.
   * @param {number} line
   * @param {number} seq  The line's `seq`, to find it.
   */
  async #openAt(line, seq) {
    this.#follow.checked = false;
    const offset = Math.max(0, line - 1 - LOG_PAGE / 2);
    const page = await readLogs(this.#hash, { offset, limit: LOG_PAGE });
    if (this.#stopped) return;
    this.#window.reset(page);
    this.#renderAll();
    const index = this.#window.lines.findIndex((l) => l.seq === seq);
    const element = this.#elements[index];
    if (element) {
      element.classList.add("hit");
      element.scrollIntoView({ block: "center" });
    }
  }

  /** Builds every line of the window again. */
  #renderAll() {
    const lines = this.#window.lines;
    this.#elements = lines.map((line) => lineElement(line));
    this.#box.replaceChildren(...this.#elements);
    if (lines.length === 0) {
      this.#box.append(h("div.muted", { text: "(no log lines)" }));
    }
    this.#number();
  }

  /** Numbers the lines, and says which are shown. */
  #number() {
    const window = this.#window;
    this.#elements.forEach((element, i) => {
      const n = /** @type {HTMLElement} */ (element.firstElementChild);
      n.dataset.n = String(window.numberAt(i));
    });
    // The widest number sets the gutter, so the text lines up.
    const digits = String(window.numberAt(window.lines.length)).length;
    this.#box.style.setProperty("--n-width", `${digits}ch`);
    this.#results.style.setProperty(
      "--n-width",
      `${String(window.total).length}ch`,
    );
    const shown = window.lines.length;
    const fmt = (/** @type {number} */ n) => n.toLocaleString("en-US");
    this.#info.textContent = shown === 0
      ? `${fmt(window.total)} lines`
      : `lines ${fmt(window.first)}–${fmt(window.first + shown - 1)} of ${
        fmt(window.total)
      }`;
    this.#earlier.hidden = window.first <= 1;
    this.#later.hidden = window.atEnd;
  }

  // --- Search -----------------------------------------------------------------

  /** Shows the lines matching the search box, or the log when it is empty. */
  #find() {
    this.#searching.abort();
    const text = this.#search.value;
    if (text.trim() === "") {
      this.#results.hidden = true;
      this.#results.replaceChildren();
      this.#box.hidden = false;
      return;
    }
    this.#searching = new AbortController();
    this.#showMatches(text, 0, this.#searching.signal).catch((error) => {
      if (!this.#searching.signal.aborted) toast(errorText(error), "error");
    });
  }

  /**
   * Reads and shows the matches of `text` from match `offset` on.
   * @param {string} text
   * @param {number} offset
   * @param {AbortSignal} signal
   */
  async #showMatches(text, offset, signal) {
    const page = await readLogs(
      this.#hash,
      { contains: text, offset, limit: MATCH_PAGE },
      { signal },
    );
    if (signal.aborted || this.#stopped) return;
    const results = this.#results;
    const matches = page.matches ?? 0;
    if (offset === 0) {
      results.replaceChildren(
        h("div.log-matches", {
          text: matches === 0
            ? `No line contains “${text}”.`
            : `${matches.toLocaleString("en-US")} ${
              matches === 1 ? "line contains" : "lines contain"
            } “${text}” — click one to see it in the log`,
        }),
      );
      results.style.setProperty("--n-width", `${String(page.total).length}ch`);
    }
    results.querySelector("button.more")?.remove();
    for (const line of page.lines) {
      const element = lineElement(line, text);
      element.classList.add("match");
      element.tabIndex = 0;
      element.title = "Show in the log";
      const open = () => {
        this.#search.value = "";
        this.#find();
        this.#run(() => this.#openAt(line.line ?? 1, line.seq));
      };
      element.addEventListener("click", open);
      element.addEventListener("keydown", (event) => {
        if (event.key === "Enter") open();
      });
      results.append(element);
    }
    const shown = offset + page.lines.length;
    if (shown < matches) {
      results.append(h("button.more", {
        text: `Show more (${(matches - shown).toLocaleString("en-US")} left)`,
        onclick: () =>
          this.#showMatches(text, shown, signal).catch((error) =>
            toast(errorText(error), "error")
          ),
      }));
    }
    this.#box.hidden = true;
    results.hidden = false;
  }
}

/**
 * A log line: its number (set by the caller, or the line's own), local
 * time, its stream or level (stdout, the program's output, unmarked), and
 * its text, with `mark` highlighted (ASCII letters in either case, as the
 * server matches).
 * @param {LogLine} line
 * @param {string} [mark]
 * @returns {HTMLElement}
 */
function lineElement(line, mark) {
  const level = line.level.toLowerCase();
  return h(
    // A client may name any level: only known ones become classes.
    `div.line.${LEVELS.has(level) ? level : "other"}`,
    { dataset: { seq: String(line.seq) } },
    h("span.n", { dataset: { n: String(line.line ?? "") } }),
    h("span.t", { text: fmtClock(line.time) }),
    h("span.lv", { dataset: { lv: level === "stdout" ? "" : level } }),
    h("span.x", {}, mark ? marked(line.text, mark) : line.text),
  );
}

/**
 * `text` with each occurrence of `mark` in a <mark>.
 * @param {string} text
 * @param {string} mark
 * @returns {(string | HTMLElement)[]}
 */
function marked(text, mark) {
  /** @param {string} s */
  const fold = (s) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
  const haystack = fold(text), needle = fold(mark);
  /** @type {(string | HTMLElement)[]} */
  const out = [];
  let from = 0;
  for (
    let at = haystack.indexOf(needle);
    at >= 0 && needle;
    at = haystack.indexOf(needle, at + needle.length)
  ) {
    out.push(
      text.slice(from, at),
      h("mark", { text: text.slice(at, at + needle.length) }),
    );
    from = at + needle.length;
  }
  out.push(text.slice(from));
  return out;
}
