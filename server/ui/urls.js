/// <reference lib="dom" />
// @ts-check
// URLs under the app's root, and links to its pages. Reads the page's
// <base href> when imported.

import { h } from "./dom.js";

/**
 * The app's root as the browser sees it (absolute URL ending in "/"), fixed
 * at start-up from the page's <base href>, which the server fills in
 * relative to the page: it survives --base-path and a proxy's prefix.
 */
export const ROOT = new URL(".", document.baseURI).href;

/**
 * An absolute URL for `path` (relative, no leading slash) under the root.
 * @param {string} path
 * @returns {string}
 */
export function url(path) {
  return new URL(path, ROOT).href;
}

/**
 * The path of the current page relative to the root, without leading slash.
 * @returns {string}
 */
export function currentRoute() {
  const root = new URL(ROOT).pathname;
  const path = location.pathname;
  return path.startsWith(root) ? path.slice(root.length) : path.slice(1);
}

/**
 * A link to a page of the app, which the router follows without reloading.
 * @param {string} path  Relative to the root, e.g. `run/<hash>`.
 * @param {...(string | Node)} children
 * @returns {HTMLAnchorElement}
 */
export function link(path, ...children) {
  return h("a", { href: url(path), "data-nav": true }, ...children);
}
