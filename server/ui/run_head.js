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
 * @property {(patch: { archived?: boolean, tags?: string[] }) => void} patch
 * @property {() => void} remove  Ask, then delete the run.
 */

/**
 * Fills `head` with the header of `run`. A live run's writer owns its
 * attributes: no edit is offered then.
 * @param {HTMLElement} head
 * @param {Run} run
 * @param {HeadActions} actions
 */
export function renderHead(head, run, actions) {
  const editable = !run.live;
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
      h("h1", { text: run.name || run.hash }),
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
          disabled: !editable,
          title: editable ? "" : "A live run is edited by its writer only",
          onclick: () => actions.patch({ archived: !run.archived }),
        }),
        h("button.danger", {
          text: "Delete…",
          disabled: !editable,
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
    run.description ? h("p.description", { text: run.description }) : null,
    h(
      "div.tags-edit",
      {},
      run.tags.map((t) =>
        h(
          "span.tag",
          {},
          t,
          editable
            ? h("button", {
              text: "×",
              title: `remove ${t}`,
              onclick: () =>
                actions.patch({ tags: run.tags.filter((x) => x !== t) }),
            })
            : null,
        )
      ),
      editable
        ? [tagInput, h("button", { text: "Add", onclick: addTag })]
        : null,
    ),
  );
}
