/// <reference lib="dom" />
// @ts-check
// The run page's terminal log: its last lines, earlier ones on demand, and
// new ones as they come while "follow" is on.

import { readLogs } from "./api.js";
import { errorText, h, toast } from "./dom.js";
import { fmtClock } from "./format.js";

/** @import { LogLine } from "./api_types.js" */

/** Lines shown at first, and loaded by each "Load earlier". */
const LOG_PAGE = 2000;
/** Lines read by each follow. */
const TAIL_LINES = 5000;

/** A run's log, from line `start` to `end` of `total`. */
export class RunLog {
  #hash;
  #box;
  #follow;
  #info;
  #earlier;
  #start = 0;
  #end = 0;
  #total = 0;
  #stopped = false;

  /**
   * Appends the log's bar and lines to `content`, and reads its last lines.
   * @param {HTMLElement} content
   * @param {string} hash  The run.
   * @param {boolean} follow  Follow new lines at first (for a live run).
   */
  constructor(content, hash, follow) {
    this.#hash = hash;
    this.#box = h("div.log", { role: "log" });
    this.#follow = h("input", { type: "checkbox", checked: follow });
    this.#info = h("span");
    this.#earlier = h("button", { text: "Load earlier", hidden: true });
    content.append(
      h(
        "div.log-bar",
        {},
        h("label.check", {}, this.#follow, " follow"),
        this.#info,
        this.#earlier,
      ),
      this.#box,
    );
    this.#earlier.addEventListener("click", () => this.#loadEarlier());
    (async () => {
      const { total } = await readLogs(hash, { limit: 0 });
      this.#start = this.#end = Math.max(0, total - LOG_PAGE);
      await this.tail(true);
    })().catch((error) => toast(errorText(error), "error"));
  }

  /**
   * Whether new lines are followed.
   * @returns {boolean}
   */
  get following() {
    return this.#follow.checked;
  }

  /**
   * Appends the lines written since the last read, scrolling to them when
   * the view was at the bottom.
   * @param {boolean} [first]  The first read: scroll to the end, say when empty.
   */
  async tail(first = false) {
    if (this.#stopped) return;
    const page = await readLogs(this.#hash, {
      offset: this.#end,
      limit: TAIL_LINES,
    });
    if (this.#stopped) return;
    const box = this.#box;
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    box.append(...page.lines.map(lineElement));
    this.#end += page.lines.length;
    this.#total = page.total;
    this.#updateInfo();
    if (page.lines.length === 0 && first) {
      box.append(h("div.muted", { text: "(no log lines)" }));
    }
    if ((first || atBottom) && page.lines.length > 0) {
      box.scrollTop = box.scrollHeight;
    }
  }

  /** Stops reading: the page shows something else. */
  destroy() {
    this.#stopped = true;
  }

  async #loadEarlier() {
    const from = Math.max(0, this.#start - LOG_PAGE);
    const page = await readLogs(this.#hash, {
      offset: from,
      limit: this.#start - from,
    });
    const box = this.#box;
    const height = box.scrollHeight;
    box.prepend(...page.lines.map(lineElement));
    box.scrollTop += box.scrollHeight - height;
    this.#start = from;
    this.#updateInfo();
  }

  #updateInfo() {
    this.#info.textContent = `lines ${this.#start.toLocaleString("en-US")}–${
      this.#end.toLocaleString("en-US")
    } of ${this.#total.toLocaleString("en-US")}`;
    this.#earlier.hidden = this.#start === 0;
  }
}

/**
 * A log line: local time, text, and its level as a class.
 * @param {LogLine} line
 * @returns {HTMLElement}
 */
function lineElement(line) {
  return h(
    `div.line.${line.level.replace(/[^a-z]/gi, "") || "info"}`,
    {},
    h("span.t", { text: fmtClock(line.time) }),
    line.text,
  );
}
