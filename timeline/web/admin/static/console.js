// The console's entry: sign-in, and which view the location's hash asks for (`#/`, `#/timelines/ID`).
import { ApiError, call, key } from "./api.js";
import { h, message } from "./dom.js";
import { timelineView } from "./timeline.js";
import { timelinesView } from "./timelines.js";

const main = document.getElementById("main");
let leave = () => {}; // ends what the current view keeps running (stream, refreshes)

function signInView() {
  const field = h("input", { id: "key", type: "password", autocomplete: "off", spellcheck: "false", required: true });
  const feedback = h("p", { id: "sign-in-error", role: "alert", class: "error" });
  const form = h(
    "form",
    { class: "card narrow", onsubmit: (event) => signIn(event, field, feedback) },
    h("h1", { tabindex: "-1", text: "Sign in" }),
    h("p", { text: "Use an API key of this service (TIMELINE_API_KEYS; `timeline serve` prints where its key is)." }),
    h("label", { for: "key", text: "API key" }),
    field,
    h("button", { type: "submit", class: "primary", text: "Sign in" }),
    feedback,
  );
  main.replaceChildren(form);
  field.focus();
  return () => {};
}

async function signIn(event, field, feedback) {
  event.preventDefault();
  const token = field.value.trim();
  message(feedback, "");
  try {
    const { name } = await call("GET", "/api/v1/key", undefined, token);
    key.set(token);
    showWho(name);
    route();
  } catch (error) {
    // A refused key: the server says why in words (unknown here, or no keys configured at all).
    const refused = error instanceof ApiError && (error.status === 401 || error.status === 403);
    message(feedback, refused ? error.message : `Cannot sign in: ${error.message}`, true);
    field.select();
  }
}

function showWho(name) {
  document.getElementById("who-name").textContent = `Signed in as ${name}`;
  document.getElementById("who").hidden = false;
}

async function route() {
  leave();
  if (!key.get()) {
    document.getElementById("who").hidden = true;
    leave = signInView();
    return;
  }
  const opened = location.hash.match(/^#\/timelines\/([^/]+)$/);
  leave = opened ? timelineView(main, decodeURIComponent(opened[1])) : timelinesView(main);
}

async function start() {
  document.getElementById("sign-out").addEventListener("click", () => {
    key.clear();
    location.hash = "#/";
    route();
  });
  window.addEventListener("hashchange", route);
  if (key.get()) {
    try {
      showWho((await call("GET", "/api/v1/key")).name);
    } catch {
      key.clear(); // revoked since, or the server's keys changed: ask again
    }
  }
  route();
}

start();
