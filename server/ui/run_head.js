/// <reference lib="dom" />
// @ts-check
// The run page's header: name, hash, badges, actions, dates and tags, with
// the edits a run whose writer is gone allows.

import { badges } from "./badges.js";
import { fill, h } from "./dom.js";
import { fmtDuration, fmtTime } from "./format.js";

/** @import { Run } from "./api_types.js" */

/**
 * What the header's buttons do.
 * @typedef {object} HeadActions
 * @property {() => void} compare  Open the run in the metrics explorer.
 * @property {(patch: { archived?: boolean, tags?: string[], name?: string, description?: string }) => void} patch
 * @property {() => void} remove  Ask, then delete the run.
 */

/**
 * Fills `head` with the header of `run`: its name and description (both
 * editable, live or not: edits are kept beside the run), badges, tags and
 * actions. A live run cannot be deleted.
 * @param {HTMLElement} head
 * @param {Run} run
 * @param {HeadActions} actions
 */
export function renderHead(head, run, actions) {
  const removable = !run.live;
  const tagInput = h("input.tag-input", {
    type: "text",
    placeholder: "add tag",
    "aria-label": "Add tag",
  });
  const addTag = () => {
    const tag = tagInput.value.trim();
    if (tag) actions.patch({ tags: [...new Set([...run.tags, tag])] });
  };
  tagInput.addEventListener("keydown", (e) => e.key === "Enter" && addTag());
  fill(
    head,
    h(
      "div.run-head",
      {},
      h("h1", {
        text: run.name || run.hash,
        title: "Click to rename",
        tabIndex: 0,
        onclick: (/** @type {Event} */ e) =>
          editText(/** @type {HTMLElement} */ (e.currentTarget), {
            value: run.name,
            label: "Run name",
            save: (name) => actions.patch({ name }),
          }),
      }),
      h("span.hash", { text: run.hash }),
      h("span.badges", {}, badges(run)),
      h(
        "span.actions-inline",
        {},
        h("button", {
          text: "Compare",
          title: "Open in the metrics explorer",
          onclick: actions.compare,
        }),
        h("button", {
          text: run.archived ? "Unarchive" : "Archive",
          onclick: () => actions.patch({ archived: !run.archived }),
        }),
        h("button.danger", {
          text: "Delete…",
          disabled: !removable,
          title: removable ? "" : "A live run is deleted once it has ended",
          onclick: actions.remove,
        }),
      ),
    ),
    h(
      "div.run-sub",
      {},
      [
        run.experiment && `experiment ${run.experiment}`,
        `created ${fmtTime(run.created_at)}`,
        run.ended_at && `ended ${fmtTime(run.ended_at)}`,
        `duration ${fmtDuration(run.duration)}`,
      ].filter(Boolean).join(" · "),
    ),
    h(run.description ? "p.description" : "p.description.empty", {
      text: run.description || "Add a description…",
      title: "Click to edit the description",
      tabIndex: 0,
      onclick: (/** @type {Event} */ e) =>
        editText(/** @type {HTMLElement} */ (e.currentTarget), {
          value: run.description,
          label: "Run description",
          multiline: true,
          save: (description) => actions.patch({ description }),
        }),
    }),
    h(
      "div.tags-edit",
      {},
      run.tags.map((t) =>
        h(
          "span.tag",
          {},
          t,
          h("button", {
            text: "×",
            title: `remove ${t}`,
            onclick: () =>
              actions.patch({ tags: run.tags.filter((x) => x !== t) }),
          }),
        )
      ),
      tagInput,
      h("button", { text: "Add", onclick: addTag }),
    ),
  );
}

/**
 * Replaces `shown` by a text field holding `value` until Enter (saves, when
 * changed) or Escape (cancels); a multiline one saves on Ctrl+Enter or on
 * leaving it.
 * @param {HTMLElement} shown
 * @param {{ value: string, label: string, multiline?: boolean, save: (value: string) => void }} options
 */
function editText(shown, { value, label, multiline = false, save }) {
  const input = /** @type {HTMLInputElement | HTMLTextAreaElement} */ (
    h(multiline ? "textarea.inline-edit" : "input.inline-edit", {
      "aria-label": label,
    })
  );
  input.value = value;
  let done = false;
  const finish = (/** @type {boolean} */ keep) => {
    if (done) return;
    done = true;
    input.replaceWith(shown);
    const next = input.value.trim();
    if (keep && next !== value) save(next);
  };
  input.addEventListener("keydown", (event) => {
    const e = /** @type {KeyboardEvent} */ (event);
    if (e.key === "Escape") finish(false);
    else if (e.key === "Enter" && (!multiline || e.ctrlKey)) {
      e.preventDefault();
      finish(true);
    }
  });
  input.addEventListener("blur", () => finish(true));
  shown.replaceWith(input);
  input.focus();
  input.select();
}
