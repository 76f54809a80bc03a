// A timeline's events, live over its stream, newest first, each with the editors' actions: hide or
// unhide, pin, key event, note; edit and delete on the editors' own posts.
import { call, timelinePath } from "./api.js";
import { h, message, rerender, sanitizedHtml, say, when } from "./dom.js";

export function eventsSection(timeline, composer, changed) {
  const events = new Map(); // id → the event as the console last read it
  const drawn = new Map(); // id → { shape, node }: an unchanged event keeps its node (and what is typed in it)
  const list = h("ol", { class: "events", "aria-labelledby": "events-title" });
  const feedback = h("p", { role: "alert" });
  const state = h("p", { class: "muted", role: "status", text: "Connecting…" });
  const element = h("section", { class: "card" }, h("h2", { id: "events-title", text: "Events" }), state, feedback, list);
  const base = `${timelinePath(timeline.id)}/events`;
  let noteOpen = null; // id of the event whose note form is open
  let queue = Promise.resolve(); // frames apply in the order they came
  let pending;
  let stream;

  function render() {
    clearTimeout(pending);
    pending = setTimeout(() => {
      const newest = [...events.values()].sort(newestFirst);
      rerender(list, () => (newest.length ? newest.map(node) : h("li", { class: "muted", text: "No events yet." })));
      for (const id of drawn.keys()) if (!events.has(id)) drawn.delete(id);
    }, 0);
  }

  function node(event) {
    const shape = `${event.seq}:${event.hidden}:${noteOpen === event.id}`;
    const known = drawn.get(event.id);
    if (known?.shape === shape) return known.node;
    const made = item(event);
    drawn.set(event.id, { shape, node: made });
    return made;
  }

  /** The newer of what we hold and `event`: a frame of the stream may come after an editor's own answer. */
  function keep(event) {
    if ((events.get(event.id)?.seq ?? 0) > event.seq) return;
    events.set(event.id, event);
    render();
  }

  /** A tombstone: deleted for good, or hidden by an editor, which only a keyed read tells. */
  async function unpublished(tombstone) {
    if ((events.get(tombstone.id)?.seq ?? 0) > tombstone.seq) return;
    try {
      const whole = await call("GET", `${base}/${encodeURIComponent(tombstone.id)}`);
      if (whole.hidden && !whole.deleted) return keep(whole);
    } catch {
      // not found: gone with its source
    }
    events.delete(tombstone.id);
    render();
  }

  function open() {
    stream = new EventSource(`${timelinePath(timeline.id)}/stream?since=0`);
    const frame = (handle) => (message) => {
      const data = JSON.parse(message.data);
      queue = queue.then(() => handle(data));
      changed();
    };
    stream.addEventListener("upsert", frame(keep));
    stream.addEventListener("delete", frame(unpublished));
    stream.addEventListener("reset", () => {
      stream.close();
      events.clear();
      open();
    });
    stream.addEventListener("open", () => (state.textContent = "Live: changes appear as they are stored."));
    stream.addEventListener("error", () => (state.textContent = "Reconnecting…"));
  }

  async function patch(event, changes, done) {
    try {
      keep(await call("PATCH", `${base}/${encodeURIComponent(event.id)}`, changes));
      say(done);
      changed();
    } catch (error) {
      message(feedback, error.message, true);
    }
  }

  async function remove(post) {
    if (!confirm(`Delete the post “${headline(post)}”? Readers stop seeing it at once.`)) return;
    try {
      await call("DELETE", `${base}/${encodeURIComponent(post.id)}`);
      events.delete(post.id);
      render();
      say("Post deleted.");
      changed();
    } catch (error) {
      message(feedback, error.message, true);
    }
  }

  function item(event) {
    const id = event.id;
    const described = `title-${id}`;
    const post = event.source_id === timeline.editorial_source;
    const button = (label, key, onclick, extra = {}) =>
      h("button", { type: "button", "data-key": `${key}:${id}`, "aria-describedby": described, onclick, ...extra, text: label });
    const marks = [event.hidden && "Hidden", event.pinned && "Pinned", event.key_event && "Key event"].filter(Boolean);
    return h(
      "li",
      { class: `event${event.hidden ? " is-hidden" : ""}`, id: `event-${id}` },
      h("article", { "aria-labelledby": described },
        h("h3", { id: described, text: headline(event) }),
        h("p", { class: "meta" }, when(event.published_at), post ? " · editors’ post" : " · from a source",
          ...marks.map((mark) => h("span", { class: `badge ${mark === "Hidden" ? "warn" : ""}`, text: mark }))),
        event.note && h("p", { class: "note" }, h("strong", { text: "Note: " }), event.note),
        sanitizedHtml(h("div", { class: "body" }), event.body_html ?? ""),
        h("p", { class: "actions" },
          event.hidden
            ? button("Unhide", "unhide", () => patch(event, { hidden: false }, "Published again."))
            : button("Hide", "hide", () => patch(event, { hidden: true }, "Hidden from readers.")),
          button("Pin", "pin", () => patch(event, { pinned: !event.pinned }, event.pinned ? "Unpinned." : "Pinned."), { "aria-pressed": String(event.pinned) }),
          button("Key event", "key", () => patch(event, { key_event: !event.key_event }, "Key event changed."), { "aria-pressed": String(event.key_event) }),
          button("Note", "note", () => { noteOpen = noteOpen === id ? null : id; render(); }, { "aria-expanded": String(noteOpen === id) }),
          post && button("Edit", "edit", () => composer.edit(event)),
          post && button("Delete", "delete", () => remove(event), { class: "danger" }),
        ),
        noteOpen === id && noteForm(event),
      ),
    );
  }

  function noteForm(event) {
    const field = h("input", { id: `note-${event.id}`, "data-key": `note-field:${event.id}`, value: event.note ?? "", maxlength: 1000 });
    const save = (submitted) => {
      submitted.preventDefault();
      noteOpen = null;
      patch(event, { note: field.value.trim() || null }, field.value.trim() ? "Note saved." : "Note removed.");
    };
    setTimeout(() => field.isConnected && document.activeElement?.dataset.key === `note:${event.id}` && field.focus(), 0);
    return h("form", { class: "inline", onsubmit: save },
      h("label", { for: `note-${event.id}`, text: "Note" }), field,
      h("button", { type: "submit", "data-key": `note-save:${event.id}`, text: "Save note" }));
  }

  open();
  return { element, close: () => stream.close(), stored: keep };
}

function headline(event) {
  const text = event.title || event.body_text || "";
  return text.length > 90 ? `${text.slice(0, 89)}…` : text || "Untitled update";
}

function newestFirst(a, b) {
  const [at, bt] = [Date.parse(a.published_at), Date.parse(b.published_at)];
  if (at !== bt) return bt - at;
  if (a.position !== b.position) return b.position - a.position;
  return a.id < b.id ? 1 : -1;
}
