/// <reference lib="dom" />
// @ts-check
// Building elements, and short messages at the bottom of the page. Touches
// the DOM only when called.

/**
 * The tag name in `h()`'s selector: "div" in "div.cls#id".
 * @template {string} S
 * @typedef {S extends `${infer N}.${string}` ? TagName<N>
 *   : S extends `${infer N}#${string}` ? TagName<N> : S} TagName
 */

/**
 * The element `h(selector)` builds: `h("input.query")` is an HTMLInputElement.
 * @template {string} S
 * @typedef {TagName<S> extends keyof HTMLElementTagNameMap
 *   ? HTMLElementTagNameMap[TagName<S>] : HTMLElement} ElementOf
 */

/**
 * What `h()` and `fill()` take as children: nested arrays are flattened,
 * null, undefined and false skipped, other values shown as text.
 * @typedef {Node | string | number | null | undefined | false | ChildList} Child
 */
/** @typedef {Child[]} ChildList */

/**
 * Builds an element: `h("div.cls#id", {attrs}, ...children)`. Attributes
 * `on*` with a function become listeners, `dataset` an object of data-*,
 * `style` an object of styles, `text` the text content, `class` the class
 * name; other non-string values set the element's property of that name
 * when it has one (`checked`, `hidden`), else an attribute (`true` as "").
 * null, undefined and false attributes are skipped.
 * @template {string} S
 * @param {S} selector
 * @param {Record<string, unknown>} [attrs]
 * @param {...Child} children
 * @returns {ElementOf<S>}
 */
export function h(selector, attrs = {}, ...children) {
  const [name, ...rest] = selector.split(/(?=[.#])/);
  const node = document.createElement(name || "div");
  for (const part of rest) {
    if (part.startsWith(".")) node.classList.add(part.slice(1));
    else node.id = part.slice(1);
  }
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(
        key.slice(2),
        /** @type {EventListener} */ (value),
      );
    } else if (key === "dataset") {
      Object.assign(node.dataset, value);
    } else if (key === "text") {
      node.textContent = String(value);
    } else if (key === "class") {
      node.className = String(value);
    } else if (key === "style" && typeof value === "object") {
      Object.assign(node.style, value);
    } else if (key in node && typeof value !== "string") {
      /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (node))[
        key
      ] = value;
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return /** @type {ElementOf<S>} */ (node);
}

/**
 * Replaces the children of `node`; children as for {@link h}.
 * @template {Element} E
 * @param {E} node
 * @param {...Child} children
 * @returns {E}
 */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/**
 * @param {Element} node
 * @param {readonly Child[]} children
 */
function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
}

/**
 * Shows a short message at the bottom of the page for a few seconds.
 * @param {string} text
 * @param {"info" | "error"} [kind]
 */
export function toast(text, kind = "info") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = h(`div.toast.${kind}`, {
    text,
    role: kind === "error" ? "alert" : "status",
  });
  box.appendChild(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
}

/**
 * The message of anything thrown, for a toast.
 * @param {unknown} error
 * @returns {string}
 */
export function errorText(error) {
  return error instanceof Error ? error.message : String(error);
}
