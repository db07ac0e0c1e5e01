/// <reference lib="dom" />
// @ts-check
// The runs selected in the table (a click, shift-click for a range) and
// what the toolbar does with them: compare, archive, tag, delete.

import { deleteRun, getRun, patchRun } from "./api.js";
import { errorText, h, toast } from "./dom.js";
import { pool } from "./tasks.js";

/** @import { Run } from "./api_types.js" */

/** Edits sent at once. */
const PARALLEL_EDITS = 4;

/**
 * What the selection needs from its page.
 * @typedef {object} SelectionHooks
 * @property {() => void} changed  The selection changed: mark the rows.
 * @property {() => void} cleared  "Clear" emptied it: rebuild the rows.
 * @property {(path: string) => void} navigate
 * @property {() => Promise<void>} refresh  After edits: fetch the rows on screen again.
 */

/** The selected runs and the toolbar of actions on them. */
export class RunSelection {
  /** The actions' toolbar. */
  toolbar;
  /** The confirmation of a deletion. */
  dialog;
  /** @type {Map<string, Run>} */
  #selected = new Map();
  /** @type {string | null} */
  #lastClicked = null;
  #info;
  #tag;
  #hooks;

  /** @param {SelectionHooks} hooks */
  constructor(hooks) {
    this.#hooks = hooks;
    this.#info = h("span.sel-info");
    this.#tag = h("input.tag-input", {
      type: "text",
      placeholder: "tag",
      "aria-label": "Tag",
    });
    this.toolbar = h(
      "div.actions",
      {},
      this.#info,
      h("button", {
        text: "Compare",
        onclick: () => this.#compare("compare"),
        title: "The selected runs side by side: params that differ, series",
      }),
      h("button", {
        text: "Metrics",
        onclick: () => this.#compare("metrics"),
        title: "Open the selected runs in the metrics explorer",
      }),
      h("button", {
        text: "Archive",
        onclick: () => this.#patch({ archived: true }),
      }),
      h("button", {
        text: "Unarchive",
        onclick: () => this.#patch({ archived: false }),
      }),
      this.#tag,
      h("button", { text: "Add tag", onclick: () => this.#tagAll(true) }),
      h("button", { text: "Remove tag", onclick: () => this.#tagAll(false) }),
      h("button.danger", { text: "Delete…", onclick: () => this.#delete() }),
      h("button.link", {
        text: "Clear",
        onclick: () => (this.#selected.clear(), hooks.cleared()),
      }),
    );
    this.dialog = h("dialog.confirm");
  }

  /**
   * Whether the run is selected.
   * @param {string} hash
   * @returns {boolean}
   */
  has(hash) {
    return this.#selected.has(hash);
  }

  /**
   * A click on the selection box of run `hash`: selects or unselects it;
   * with shift, selects every run from the last one clicked to it.
   * @param {string} hash
   * @param {boolean} checked  The box's state after the click.
   * @param {boolean} shift
   * @param {Run[]} runs  The loaded rows, in table order.
   */
  click(hash, checked, shift, runs) {
    if (shift && this.#lastClicked) {
      const last = this.#lastClicked;
      const a = runs.findIndex((r) => r.hash === last);
      const b = runs.findIndex((r) => r.hash === hash);
      if (a >= 0 && b >= 0) {
        for (const run of runs.slice(Math.min(a, b), Math.max(a, b) + 1)) {
          this.#selected.set(run.hash, run);
        }
      }
    } else if (checked) {
      const run = runs.find((r) => r.hash === hash);
      if (run !== undefined) this.#selected.set(hash, run);
    } else this.#selected.delete(hash);
    this.#lastClicked = hash;
    this.update();
  }

  /**
   * Replaces the selected runs' records by fresher ones among `runs`.
   * @param {Run[]} runs
   */
  refreshRuns(runs) {
    for (const [hash] of this.#selected) {
      const run = runs.find((r) => r.hash === hash);
      if (run) this.#selected.set(hash, run);
    }
  }

  /** Shows how many runs are selected, and the actions when some are. */
  update() {
    const n = this.#selected.size;
    this.toolbar.classList.toggle("active", n > 0);
    this.#info.textContent = n ? `${n} selected` : "";
    this.#hooks.changed();
  }

  /** Opens the selected runs on `page` ("compare" or "metrics"). */
  #compare(/** @type {string} */ page) {
    const hashes = [...this.#selected.keys()];
    if (hashes.length === 0) return toast("Select runs to compare first");
    this.#hooks.navigate(`${page}?runs=${hashes.join(",")}`);
  }

  /** @param {{ archived: boolean }} patch */
  async #patch(patch) {
    const runs = [...this.#selected.values()];
    if (runs.length === 0) return toast("Select runs first");
    await this.#edit(runs, (run) => patchRun(run.hash, patch));
  }

  /** @param {boolean} add  Add the tag typed, or remove it. */
  async #tagAll(add) {
    const tag = this.#tag.value.trim();
    if (!tag) return toast("Type a tag first");
    const runs = [...this.#selected.values()];
    if (runs.length === 0) return toast("Select runs first");
    await this.#edit(runs, async (run) => {
      // Tags from the run as it is now: the row may be stale.
      const fresh = await getRun(run.hash);
      const tags = add
        ? [...new Set([...fresh.tags, tag])]
        : fresh.tags.filter((t) => t !== tag);
      return patchRun(run.hash, { tags });
    });
  }

  #delete() {
    const runs = [...this.#selected.values()];
    if (runs.length === 0) return toast("Select runs first");
    const dialog = this.dialog;
    dialog.replaceChildren(
      h("p", {
        text: `Delete ${runs.length} run${
          runs.length === 1 ? "" : "s"
        }? Their files and index rows are removed; this cannot be undone.`,
      }),
      h(
        "div.buttons",
        {},
        h("button", { text: "Cancel", onclick: () => dialog.close() }),
        h("button.danger", {
          text: "Delete",
          onclick: async () => {
            dialog.close();
            await this.#edit(runs, (run) => deleteRun(run.hash), true);
          },
        }),
      ),
    );
    dialog.showModal();
  }

  /**
   * Applies `action` to every run of `selected` (deletions: those whose
   * writer is gone), a few at a time; reports what was done and what failed, then refreshes.
   * @param {Run[]} selected
   * @param {(run: Run) => Promise<unknown>} action
   * @param {boolean} [removing]  The action deletes: unselect what it removed.
   */
  async #edit(selected, action, removing = false) {
    // A live run can be edited, not deleted: the server would refuse (409).
    const runs = removing ? selected.filter((run) => !run.live) : selected;
    const failures = removing
      ? selected.filter((run) => run.live)
        .map((run) => `${run.name || run.hash}: live, stop it before deleting`)
      : [];
    await pool(
      runs.map((run) => async () => {
        try {
          await action(run);
          if (removing) this.#selected.delete(run.hash);
        } catch (error) {
          failures.push(`${run.name || run.hash}: ${errorText(error)}`);
        }
      }),
      PARALLEL_EDITS,
    );
    const done = selected.length - failures.length;
    if (done > 0) {
      toast(
        `${removing ? "Deleted" : "Updated"} ${done} run${
          done === 1 ? "" : "s"
        }`,
      );
    }
    if (failures.length > 0) {
      toast(
        `${failures.length} not changed: ${failures.slice(0, 3).join("; ")}`,
        "error",
      );
    }
    await this.#hooks.refresh();
    this.update();
  }
}
