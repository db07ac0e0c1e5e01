/// <reference lib="dom" />
// @ts-check
// Saved views of a page: its state (the URL's query string) under a name,
// kept in the repository (GET/POST/PATCH/DELETE /api/views), so everyone
// who opens the repository sees them. A bar for the explorers' controls:
// pick a view to open it, save the current state under a name, rename or
// delete the view picked.

import { api } from "./api.js";
import { errorText, h, toast } from "./dom.js";

/**
 * A saved view, as `/api/views` answers.
 * @typedef {object} SavedView
 * @property {string} id
 * @property {string} name
 * @property {string} page
 * @property {string} state
 * @property {number} created_at
 * @property {number} updated_at
 */

/**
 * The saved-views bar of `page` ("runs", "compare", "metrics", "params",
 * "scatters").
 * @param {string} page
 * @param {import("./app.js").PageContext} app
 * @returns {HTMLElement}
 */
export function viewsBar(page, app) {
  /** @type {SavedView[]} */
  let views = [];
  const list = h("select.view-list", { title: "saved views of this page" });
  const name = h("input.view-name", {
    placeholder: "view name",
    maxLength: 200,
  });
  const bar = h(
    "div.views-bar",
    {},
    "Views: ",
    list,
    name,
    h("button.view-save", {
      type: "button",
      text: "Save view",
      onclick: () => save(),
    }),
    h("button.view-rename", {
      type: "button",
      text: "Rename",
      onclick: () => rename(),
    }),
    h("button.view-delete", {
      type: "button",
      text: "Delete",
      onclick: () => remove(),
    }),
  );
  list.addEventListener("change", () => {
    const view = picked();
    if (view === undefined) return;
    name.value = view.name;
    app.navigate(`${page}${view.state}`);
  });
  name.addEventListener("keydown", (event) => {
    if (event.key === "Enter") save();
  });
  refresh();

  /** The view picked in the list, if any. */
  function picked() {
    return views.find((v) => v.id === list.value);
  }

  /** Lists the views of this page; picks the one whose state is the page's. */
  async function refresh(/** @type {string} */ pick = "") {
    try {
      const answer = /** @type {{ views: SavedView[] }} */ (
        await api("api/views")
      );
      views = answer.views.filter((v) => v.page === page);
    } catch (error) {
      toast(errorText(error), "error");
      return;
    }
    const current = pick ||
      (views.find((v) => v.state === location.search)?.id ?? "");
    list.replaceChildren(
      h("option", {
        value: "",
        text: views.length ? "— saved views —" : "— no saved views —",
      }),
      ...views.map((v) =>
        h("option", { value: v.id, text: v.name, title: v.state })
      ),
    );
    list.value = current;
    bar.dataset.count = String(views.length);
  }

  async function save() {
    const text = name.value.trim();
    if (!text) return toast("Give the view a name first");
    try {
      const view = /** @type {SavedView} */ (await api("api/views", {
        body: { name: text, page, state: location.search },
      }));
      toast(`Saved the view "${view.name}"`);
      await refresh(view.id);
    } catch (error) {
      toast(errorText(error), "error");
    }
  }

  async function rename() {
    const view = picked();
    const text = name.value.trim();
    if (view === undefined) return toast("Pick a saved view to rename");
    if (!text || text === view.name) {
      return toast("Type the new name in the box first");
    }
    try {
      await api(`api/views/${view.id}`, {
        method: "PATCH",
        body: { name: text },
      });
      await refresh(view.id);
    } catch (error) {
      toast(errorText(error), "error");
    }
  }

  async function remove() {
    const view = picked();
    if (view === undefined) return toast("Pick a saved view to delete");
    try {
      await api(`api/views/${view.id}`, { method: "DELETE" });
      toast(`Deleted the view "${view.name}"`);
      name.value = "";
      await refresh();
    } catch (error) {
      toast(errorText(error), "error");
    }
  }

  return bar;
}
