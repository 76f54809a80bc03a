// Every timeline: title, status, events, newest update, failing sources; create, end or reopen, delete.
import { call, timelinePath } from "./api.js";
import { h, hidden, message, rerender, say, when } from "./dom.js";

const REFRESH_MS = 10_000;

export function timelinesView(main) {
  const list = h("ul", { class: "timelines", "aria-labelledby": "timelines-title" });
  const feedback = h("p", { role: "alert" });
  const title = h("input", { id: "new-title", required: true, maxlength: 300 });
  const heading = h("h1", { id: "timelines-title", tabindex: "-1", text: "Timelines" });
  main.replaceChildren(
    heading,
    h(
      "form",
      { class: "inline", onsubmit: (event) => create(event, title, feedback, refresh) },
      h("label", { for: "new-title", text: "Title" }),
      title,
      h("button", { type: "submit", class: "primary", text: "Create timeline" }),
    ),
    feedback,
    list,
  );
  heading.focus();

  async function refresh() {
    try {
      const timelines = await call("GET", "/api/v1/timelines");
      rerender(list, () => (timelines.length ? timelines.map((t) => item(t, feedback, refresh)) : empty()));
    } catch (error) {
      message(feedback, error.message, true);
    }
  }
  refresh();
  const timer = setInterval(refresh, REFRESH_MS);
  return () => clearInterval(timer);
}

const empty = () => h("li", { class: "muted", text: "No timelines yet: give one a title above." });

async function create(event, field, feedback, refresh) {
  event.preventDefault();
  try {
    const created = await call("POST", "/api/v1/timelines", { title: field.value });
    field.value = "";
    say(`Created ${created.title}.`);
    location.hash = `#/timelines/${created.slug}`;
  } catch (error) {
    message(feedback, error.message, true);
    refresh();
  }
}

function item(timeline, feedback, refresh) {
  const failing = timeline.sources.filter((s) => ["failing", "backing-off", "gone"].includes(s.health.status));
  const ended = timeline.status === "ended";
  const act = (label, run) => async () => {
    try {
      await run();
      say(label);
      await refresh();
    } catch (error) {
      message(feedback, error.message, true);
    }
  };
  const toggle = act(ended ? `Reopened ${timeline.title}.` : `Ended ${timeline.title}.`, () =>
    call("PATCH", timelinePath(timeline.id), { status: ended ? "live" : "ended" }),
  );
  const remove = async () => {
    if (!confirm(`Delete “${timeline.title}” with all its events? This cannot be undone.`)) return;
    await act(`Deleted ${timeline.title}.`, () => call("DELETE", timelinePath(timeline.id)))();
  };
  return h(
    "li",
    { class: "card" },
    h("h2", {}, h("a", { href: `#/timelines/${timeline.slug}`, text: timeline.title })),
    h(
      "p",
      { class: "facts" },
      h("span", { class: `status ${timeline.status}`, text: ended ? "Ended" : "Live" }),
      ` · ${plural(timeline.events, "event")} · `,
      timeline.last_event_at ? ["newest ", when(timeline.last_event_at)] : "no updates yet",
      " · ",
      h("span", { class: failing.length ? "error" : "", text: sourcesSaid(timeline.sources.length, failing.length) }),
    ),
    h(
      "p",
      { class: "actions" },
      h("button", { type: "button", "data-key": `status:${timeline.id}`, onclick: toggle },
        ended ? "Reopen" : "End", hidden(` ${timeline.title}`)),
      h("button", { type: "button", class: "danger", "data-key": `delete:${timeline.id}`, onclick: remove },
        "Delete", hidden(` ${timeline.title}`)),
    ),
  );
}

const plural = (count, noun) => `${count} ${noun}${count === 1 ? "" : "s"}`;

function sourcesSaid(count, failing) {
  if (count === 0) return "no sources yet";
  return failing ? `${failing} of ${plural(count, "source")} failing` : `${plural(count, "source")}, none failing`;
}
