/// <reference lib="dom" />
// @ts-check
// The UI's entry: strips the token from the address bar (the server has put
// it in a cookie), routes client-side between the pages, and keeps the
// index summary in the top bar current.

import { indexStatus } from "./api.js";
import { h } from "./dom.js";
import { every } from "./every.js";
import { currentRoute, link, url } from "./urls.js";

/**
 * What a page module exports: `mount` builds the page in `root` and
 * returns what undoes it (timers, listeners), if anything.
 * @typedef {object} PageModule
 * @property {(root: HTMLElement, app: PageContext) => (() => void) | void} mount
 */

/**
 * What a page gets from the app.
 * @typedef {object} PageContext
 * @property {string[]} params  The route's captures, e.g. a run hash.
 * @property {typeof navigate} navigate
 */

/**
 * @typedef {object} Route
 * @property {RegExp} pattern  Matched against the path under the root.
 * @property {string} page  The nav link marked active.
 * @property {() => Promise<PageModule>} load
 */

/** @type {Route[]} */
const ROUTES = [
  { pattern: /^(runs)?\/?$/, page: "runs", load: () => import("./runs.js") },
  {
    pattern: /^run\/([0-9a-f]{8,64})\/?$/,
    page: "runs",
    load: () => import("./run.js"),
  },
  {
    pattern: /^metrics\/?$/,
    page: "metrics",
    load: () => import("./metrics.js"),
  },
  {
    pattern: /^params\/?$/,
    page: "params",
    load: () => import("./explore_params.js"),
  },
  {
    pattern: /^scatters\/?$/,
    page: "scatters",
    load: () => import("./explore_scatters.js"),
  },
  {
    pattern: /^compare\/?$/,
    page: "runs",
    load: () => import("./compare.js"),
  },
  {
    pattern: /^images\/?$/,
    page: "images",
    load: () => import("./images.js"),
  },
  {
    pattern: /^distributions\/?$/,
    page: "distributions",
    load: () => import("./distributions.js"),
  },
  { pattern: /^texts\/?$/, page: "texts", load: () => import("./texts.js") },
  { pattern: /^status\/?$/, page: "status", load: () => import("./status.js") },
];

const main = /** @type {HTMLElement} */ (document.getElementById("page"));
/** @type {(() => void) | null} */
let unmount = null;
let renderId = 0;

/**
 * Goes to `path` (relative to the root, may hold a query string) without reloading.
 * @param {string} path
 * @param {{ replace?: boolean }} [options]
 */
export function navigate(path, { replace = false } = {}) {
  const target = url(path);
  if (replace) history.replaceState(null, "", target);
  else history.pushState(null, "", target);
  render();
}

async function render() {
  const id = ++renderId;
  const route = currentRoute();
  const match = ROUTES.map((r) => ({ r, m: route.match(r.pattern) })).find((
    x,
  ) => x.m);
  for (const a of document.querySelectorAll("header nav a")) {
    if (!(a instanceof HTMLElement)) continue;
    a.classList.toggle("active", match?.r.page === a.dataset.page);
  }
  if (unmount) {
    try {
      unmount();
    } finally {
      unmount = null;
    }
  }
  main.replaceChildren();
  if (!match?.m) {
    main.append(
      h(
        "section.not-found",
        {},
        h("h2", { text: "No page here" }),
        h("p", { text: `Nothing is at /${route}.` }),
        h(
          "p",
          {},
          "Go to ",
          link("runs", "the runs"),
          ", ",
          link("metrics", "the metrics explorer"),
          " or ",
          link("status", "the index"),
          ".",
        ),
      ),
    );
    return;
  }
  const params = match.m.slice(1);
  const module = await match.r.load();
  if (id !== renderId) return;
  unmount = module.mount(main, { params, navigate }) ?? null;
}

// Links marked data-nav stay in the app.
document.addEventListener("click", (event) => {
  const a = event.target instanceof Element
    ? event.target.closest("a[data-nav]")
    : null;
  if (!(a instanceof HTMLAnchorElement)) return;
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const target = new URL(a.href);
  if (target.origin !== location.origin) return;
  event.preventDefault();
  history.pushState(null, "", target.href);
  render();
});
addEventListener("popstate", () => render());

// Nav links as absolute paths: <base href> is relative to the first page only.
for (const a of document.querySelectorAll("a[data-nav]")) {
  if (a instanceof HTMLAnchorElement) {
    a.href = url(a.getAttribute("href") ?? "");
  }
}

// The token has been exchanged for an HttpOnly cookie: keep it out of the
// address bar, history and bookmarks.
const here = new URL(location.href);
if (here.searchParams.has("token")) {
  here.searchParams.delete("token");
  history.replaceState(null, "", here.href);
}

const summary = /** @type {HTMLElement} */ (
  document.getElementById("index-summary")
);
let busy = false;
async function refreshSummary() {
  const { status, indexer } = await indexStatus();
  const parts = [`${status.runs.toLocaleString("en-US")} runs`];
  const unindexed = status.unindexed_live + status.unindexed_stalled;
  if (unindexed > 0) {
    parts.push(`${unindexed.toLocaleString("en-US")} unindexed`);
  }
  if (indexer?.in_progress) parts.push("indexing…");
  busy = unindexed > 0;
  summary.replaceChildren(h("a", {
    href: url("status"),
    "data-nav": true,
    text: parts.join(" · "),
    class: busy ? "busy" : "",
  }));
}
refreshSummary().catch(() => {});
// Often while the index is catching up, rarely when it covers everything.
every(() => (busy ? 2000 : 10_000), refreshSummary);

render();
