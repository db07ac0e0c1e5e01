/**
 * Saved views: an explorer's state (the query string of its URL) under a
 * name, kept in the repository's `views/` folder so that everyone who opens
 * the repository sees them (docs/ARCHITECTURE.md, "Saved views"). One file
 * per view, `views/<id>.json`, written whole to a temporary file and
 * renamed into place, so a reader sees the old view or the new one, never a
 * part of either.
 *
 * @module
 */

import { join } from "node:path";
import { AimError, badRequest, writeFailure } from "../errors.ts";

/** The repository's folder of saved views. */
export const VIEWS_DIR = "views";

/** The pages a view can be saved from. */
export const VIEW_PAGES = [
  "runs",
  "compare",
  "metrics",
  "params",
  "scatters",
] as const;

/** A page a view can be saved from. */
export type ViewPage = typeof VIEW_PAGES[number];

/** Longest view name, in characters. */
export const MAX_VIEW_NAME = 200;

/** Longest state (a URL's query string), in characters. */
export const MAX_VIEW_STATE = 16_384;

/** A saved view. */
export interface SavedView {
  /** 16 lower-case hex characters; the file is `views/<id>.json`. */
  id: string;
  /** Unique among the views of its page. */
  name: string;
  /** The page it opens. */
  page: ViewPage;
  /** The page's URL query string, with its `?` (or empty). */
  state: string;
  /** When it was saved, seconds since the epoch. */
  created_at: number;
  /** When it was last saved or renamed, seconds since the epoch. */
  updated_at: number;
}

/** What {@linkcode listViews} read. */
export interface ViewList {
  /** Every readable view, by page, then name. */
  views: SavedView[];
  /** Files of `views/` that are not a view aim can read, and why. */
  unreadable: { file: string; reason: string }[];
}

const _ID = /^[0-9a-f]{16}$/;

/** Refuses an id that is not 16 lower-case hex characters (no path traversal). */
export function validateViewId(id: string): string {
  if (!_ID.test(id)) {
    throw badRequest(
      `A view id is 16 lower-case hex characters, got ${JSON.stringify(id)}`,
    );
  }
  return id;
}

/** Every saved view of the repository at `repoPath`, and the files it could not read. */
export function listViews(repoPath: string): ViewList {
  const dir = join(repoPath, VIEWS_DIR);
  const out: ViewList = { views: [], unreadable: [] };
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return out;
    throw error;
  }
  for (const entry of entries) {
    const id = entry.name.endsWith(".json") ? entry.name.slice(0, -5) : "";
    // Temporary files of a save under way, or of one a kill interrupted.
    if (entry.name.startsWith(".")) continue;
    if (!entry.isFile || !_ID.test(id)) {
      out.unreadable.push({
        file: `${VIEWS_DIR}/${entry.name}`,
        reason: "not named like a view (<16 hex characters>.json)",
      });
      continue;
    }
    try {
      out.views.push(_read(dir, id));
    } catch (error) {
      if (!(error instanceof AimError)) throw error;
      out.unreadable.push({
        file: `${VIEWS_DIR}/${entry.name}`,
        reason: error.message,
      });
    }
  }
  out.views.sort((a, b) =>
    a.page < b.page
      ? -1
      : a.page > b.page
      ? 1
      : a.name < b.name
      ? -1
      : a.name > b.name
      ? 1
      : 0
  );
  return out;
}

/** The view `id`, or `view_not_found`. */
export function getView(repoPath: string, id: string): SavedView {
  return _read(join(repoPath, VIEWS_DIR), validateViewId(id));
}

/**
 * Saves a new view from `input` (`{name, page, state}`, checked here: it
 * comes from a request) and returns it. A name another view of the same
 * page has is refused.
 */
export function createView(
  repoPath: string,
  input: Record<string, unknown>,
  now: number = Date.now() / 1000,
): SavedView {
  _onlyKeys(input, ["name", "page", "state"]);
  const view: SavedView = {
    id: _newId(),
    name: _name(input.name),
    page: _page(input.page),
    state: _state(input.state),
    created_at: now,
    updated_at: now,
  };
  _refuseTaken(repoPath, view);
  _write(repoPath, view);
  return view;
}

/**
 * Changes the name and/or the state of the view `id` (`input` as
 * `{name?, state?}`) and returns it.
 */
export function updateView(
  repoPath: string,
  id: string,
  input: Record<string, unknown>,
  now: number = Date.now() / 1000,
): SavedView {
  _onlyKeys(input, ["name", "state"]);
  if (input.name === undefined && input.state === undefined) {
    throw badRequest('A view update names "name" or "state" (or both)');
  }
  const view = getView(repoPath, id);
  const next: SavedView = {
    ...view,
    ...(input.name !== undefined ? { name: _name(input.name) } : {}),
    ...(input.state !== undefined ? { state: _state(input.state) } : {}),
    updated_at: now,
  };
  if (next.name !== view.name) _refuseTaken(repoPath, next);
  _write(repoPath, next);
  return next;
}

/** Deletes the view `id`, or answers `view_not_found`. */
export function deleteView(repoPath: string, id: string): void {
  const file = join(repoPath, VIEWS_DIR, `${validateViewId(id)}.json`);
  try {
    Deno.removeSync(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw _notFound(id);
    throw writeFailure(error, `the view ${id}`) ?? error;
  }
}

function _notFound(id: string): AimError {
  return new AimError("view_not_found", `No saved view has the id ${id}`);
}

function _read(dir: string, id: string): SavedView {
  let text: string;
  try {
    text = Deno.readTextFileSync(join(dir, `${id}.json`));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw _notFound(id);
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw badRequest(`${VIEWS_DIR}/${id}.json is not JSON: ${error}`, {
      cause: error,
    });
  }
  const where = `${VIEWS_DIR}/${id}.json`;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw badRequest(`${where} does not hold an object`);
  }
  const record = value as Record<string, unknown>;
  try {
    const created = record.created_at, updated = record.updated_at;
    if (typeof created !== "number" || typeof updated !== "number") {
      throw badRequest("created_at and updated_at must be numbers");
    }
    if (record.id !== id) {
      throw badRequest(`its id ${JSON.stringify(record.id)} is not its name`);
    }
    return {
      id,
      name: _name(record.name),
      page: _page(record.page),
      state: _state(record.state),
      created_at: created,
      updated_at: updated,
    };
  } catch (error) {
    if (!(error instanceof AimError)) throw error;
    throw badRequest(`${where}: ${error.message}`, { cause: error });
  }
}

function _write(repoPath: string, view: SavedView): void {
  const dir = join(repoPath, VIEWS_DIR);
  // Whole or not at all: a reader sees the old file or the new one.
  const temporary = join(dir, `.${view.id}.${_newId().slice(0, 8)}.tmp`);
  try {
    Deno.mkdirSync(dir, { recursive: true });
    Deno.writeTextFileSync(temporary, JSON.stringify(view, null, 2) + "\n");
    Deno.renameSync(temporary, join(dir, `${view.id}.json`));
  } catch (error) {
    try {
      Deno.removeSync(temporary);
    } catch {
      // Never written, or already renamed.
    }
    throw writeFailure(error, `the view ${JSON.stringify(view.name)}`) ??
      error;
  }
}

function _refuseTaken(repoPath: string, view: SavedView): void {
  const taken = listViews(repoPath).views.find((v) =>
    v.page === view.page && v.name === view.name && v.id !== view.id
  );
  if (taken !== undefined) {
    throw badRequest(
      `A view of the ${view.page} page is already named ${
        JSON.stringify(view.name)
      } (id ${taken.id}): choose another name, or rename or delete that one`,
    );
  }
}

function _onlyKeys(input: Record<string, unknown>, keys: string[]): void {
  for (const key of Object.keys(input)) {
    if (!keys.includes(key)) {
      throw badRequest(
        `A view has no field ${JSON.stringify(key)}: the fields are ${
          keys.join(", ")
        }`,
      );
    }
  }
}

function _name(value: unknown): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw badRequest(
      `A view's name must be a non-empty string, got ${JSON.stringify(value)}`,
    );
  }
  if (value.length > MAX_VIEW_NAME) {
    throw badRequest(
      `A view's name is at most ${MAX_VIEW_NAME} characters, got ${value.length}`,
    );
  }
  return value.trim();
}

function _page(value: unknown): ViewPage {
  if (!VIEW_PAGES.includes(value as ViewPage)) {
    throw badRequest(
      `A view's page must be one of ${VIEW_PAGES.join(", ")}, got ${
        JSON.stringify(value)
      }`,
    );
  }
  return value as ViewPage;
}

function _state(value: unknown): string {
  if (typeof value !== "string" || (value !== "" && !value.startsWith("?"))) {
    throw badRequest(
      `A view's state must be a URL query string starting with "?" (or ""), got ${
        JSON.stringify(value)?.slice(0, 80)
      }`,
    );
  }
  if (value.length > MAX_VIEW_STATE) {
    throw badRequest(
      `A view's state is at most ${MAX_VIEW_STATE} characters, got ${value.length}`,
    );
  }
  return value;
}

function _newId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}
