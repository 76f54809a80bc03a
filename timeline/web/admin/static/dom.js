// Small DOM helpers: elements from data (never from HTML strings, but for sanitized bodies), dates in
// the editor's own locale, announcements for screen readers, and re-rendering that keeps focus.

/** `h("button", { type: "button", onclick }, "Hide")`: attributes, properties (`on…`) and children. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "text") element.textContent = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

// The server sanitizes every body (nh3 allow-list) before it is stored or previewed; this policy is the
// only way HTML enters the page, and only such bodies go through it.
const policy = globalThis.trustedTypes?.createPolicy("console", { createHTML: (clean) => clean }) ?? {
  createHTML: (clean) => clean,
};

export function sanitizedHtml(element, clean) {
  element.innerHTML = policy.createHTML(clean);
  return element;
}

const stamp = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** A `<time>` in the editor's locale and zone, or "never". */
export function when(iso, never = "never") {
  if (!iso) return document.createTextNode(never);
  return h("time", { datetime: iso, text: stamp.format(new Date(iso)) });
}

export function say(message) {
  const region = document.getElementById("announce");
  region.textContent = "";
  setTimeout(() => (region.textContent = message), 50); // a change the screen reader hears again
}

/** Replace `container`'s children with `build()`'s, keeping focus on the control of the same `data-key`. */
export function rerender(container, build) {
  const active = document.activeElement;
  const focused = container.contains(active) ? active.dataset.key : undefined;
  container.replaceChildren(...[build()].flat());
  if (focused) container.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus();
}

/** A visible message in an element with role="alert" (errors) or "status". */
export function message(element, text, isError = false) {
  element.textContent = text;
  element.classList.toggle("error", isError);
}

/** Run an editor's action: say `done` when it worked, show its error in `feedback` when not, then
 * `refresh` either way (the server has the last word on what happened). */
export async function act(run, done, feedback, refresh) {
  try {
    await run();
    say(done);
  } catch (error) {
    message(feedback, error.message, true);
  }
  await refresh();
}

export const hidden = (text) => h("span", { class: "visually-hidden", text });
