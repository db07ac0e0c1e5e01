/**
 * The page a browser gets from `aim up` without the token, or with a wrong
 * one: a form to paste the token, or the whole URL `aim up` printed. It is
 * sent as a GET of the same page with `?token=`, which the token check
 * accepts (then keeps in its cookie), so signing in needs no route, no
 * script and no request body. API requests keep their JSON 401.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** Why the page is shown. */
export type SignInReason =
  /** No token came with the request. */
  | "missing"
  /** A `?token=` (typed, pasted, or in an old bookmark) that is not this server's. */
  | "wrong"
  /** The cookie holds a token this server no longer accepts. */
  | "stale";

const _REASONS: Record<SignInReason, string> = {
  missing: "This aim server needs its token.",
  wrong:
    "That is not this server's token: it may be from an earlier start with another token, or it was rotated.",
  stale:
    "The token this browser kept is no longer this server's: it was restarted with another token, or the token was rotated.",
};

const _STYLE = `
body { margin: 0; min-height: 100vh; display: flex; align-items: center;
  justify-content: center; background: #f6f7f9; color: #1d2330;
  font: 14px system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
main { width: min(560px, 92vw); background: #fff; border: 1px solid #e3e6eb;
  border-radius: 8px; padding: 24px 28px; }
h1 { margin: 0 0 12px; font-size: 20px; color: #2f6fde; }
.reason { margin: 0 0 16px; padding: 6px 10px; border-left: 3px solid #c62828;
  background: #fff5f5; color: #c62828; }
label { display: block; margin-bottom: 6px; }
input { width: 100%; box-sizing: border-box; padding: 8px; font: 13px ui-monospace, monospace;
  border: 1px solid #c9ced6; border-radius: 4px; }
button { margin-top: 12px; padding: 7px 16px; border: 0; border-radius: 4px;
  background: #2f6fde; color: #fff; font: inherit; cursor: pointer; }
.hint { margin: 16px 0 0; color: #6b7280; }
code { font: 12px ui-monospace, monospace; }`;

/** Headers of the page: the app's strict policy, with its one inline style allowed by hash. */
export const SIGN_IN_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "content-security-policy": `default-src 'none'; style-src 'sha256-${
    createHash("sha256").update(_STYLE).digest("base64")
  }'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
};

/**
 * The sign-in page for a request to `url`: its form sends the pasted text
 * as `?token=` to the same page (no action: the address the browser shows,
 * whatever prefix a proxy adds), keeping the page's other parameters.
 */
export function signInPage(url: URL, reason: SignInReason): string {
  const kept = [...url.searchParams].filter(([key]) => key !== "token")
    .map(([key, value]) =>
      `<input type="hidden" name="${_escape(key)}" value="${_escape(value)}">`
    ).join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Sign in · aim</title>
<style>${_STYLE}</style>
</head>
<body>
<main>
<h1>aim</h1>
<p class="reason" role="alert">${_escape(_REASONS[reason])}</p>
<form method="get">
<label for="token">Paste the token, or the whole URL that <code>aim up</code> printed:</label>
<input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required autofocus placeholder="http://…/?token=…">
${kept}
<button type="submit">Sign in</button>
</form>
<p class="hint">It is in the line <code>open http://…/?token=…</code> that <code>aim up</code> printed when it started. This browser then keeps it in a cookie.</p>
</main>
</body>
</html>
`;
}

/**
 * The token in what a person pasted: the `token` parameter of a URL
 * (`http://127.0.0.1:43800/?token=…`), else the text itself, trimmed.
 */
export function tokenFromPasted(text: string): string {
  const trimmed = text.trim();
  const match = /[?&]token=([^&#\s]*)/.exec(trimmed);
  if (match === null) return trimmed;
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return match[1]!;
  }
}

function _escape(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
