// One timeline: its state, sources and webhooks with their health, the composer, its live events, embed
// codes, audit.
import { call, timelinePath } from "./api.js";
import { auditSection } from "./audit.js";
import { composerSection } from "./composer.js";
import { act as attempt, h, hidden, message, say } from "./dom.js";
import { embedSection } from "./embed.js";
import { eventsSection } from "./events.js";
import { sourcesSection } from "./sources.js";
import { webhooksSection } from "./webhooks.js";

// Source and webhook health change without a change to the timeline (no stream frame): read them again
// this often.
const HEALTH_MS = 3_000;

export function timelineView(main, id) {
  let closed = false;
  const stops = [];
  main.replaceChildren(h("p", { class: "muted", text: "Loading…" }));
  (async () => {
    let timeline;
    try {
      timeline = await call("GET", timelinePath(id));
    } catch (error) {
      if (closed) return;
      const heading = h("h1", { tabindex: "-1", text: "Timeline not found" });
      main.replaceChildren(heading, h("p", { class: "error", text: error.message }), back());
      heading.focus();
      return;
    }
    if (!closed) stops.push(...show(main, timeline));
  })();
  return () => {
    closed = true;
    stops.forEach((stop) => stop());
  };
}

const back = () => h("p", {}, h("a", { href: "#/", text: "← All timelines" }));

function show(main, timeline) {
  const heading = h("h1", { tabindex: "-1", text: timeline.title });
  const facts = h("p", { class: "facts" });
  const feedback = h("p", { role: "alert" });
  const statusButton = h("button", { type: "button", "data-key": "status" });
  const refresh = async () => {
    try {
      const next = await call("GET", timelinePath(timeline.id));
      describe(next);
      sources.update(next);
      await webhooks.refresh();
    } catch (error) {
      message(feedback, error.message, true);
    }
  };
  const sources = sourcesSection(timeline, refresh);
  const webhooks = webhooksSection(timeline);
  const audit = auditSection(timeline);
  let composer;
  const events = eventsSection(timeline, { edit: (post) => composer.edit(post) }, audit.soon);
  composer = composerSection(timeline, (saved) => {
    events.stored(saved);
    audit.soon();
  });
  const embed = embedSection(timeline);

  function describe(current) {
    timeline = current;
    heading.textContent = current.title;
    const ended = current.status === "ended";
    facts.replaceChildren(
      h("span", { class: `status ${current.status}`, text: ended ? "Ended" : "Live" }),
      ` · ${current.events} published ${current.events === 1 ? "event" : "events"} · slug `,
      h("code", { text: current.slug }),
    );
    statusButton.replaceChildren(ended ? "Reopen timeline" : "End timeline");
    statusButton.onclick = () => act(() => call("PATCH", timelinePath(current.id), { status: ended ? "live" : "ended" }), ended ? "Reopened." : "Ended.");
  }

  function act(run, done) {
    return attempt(run, done, feedback, refresh);
  }

  async function remove() {
    if (!confirm(`Delete “${timeline.title}” with all its events? This cannot be undone.`)) return;
    try {
      await call("DELETE", timelinePath(timeline.id));
      say(`Deleted ${timeline.title}.`);
      location.hash = "#/";
    } catch (error) {
      message(feedback, error.message, true);
    }
  }

  describe(timeline);
  main.replaceChildren(
    back(),
    heading,
    facts,
    h("p", { class: "actions" }, statusButton,
      h("button", { type: "button", class: "danger", onclick: remove }, "Delete timeline", hidden(` ${timeline.title}`))),
    feedback,
    h("div", { class: "columns" },
      h("div", { class: "column" }, sources.element, webhooks.element, embed.element),
      h("div", { class: "column wide" }, composer.element, events.element, audit.element)),
  );
  heading.focus();
  const timer = setInterval(refresh, HEALTH_MS);
  return [() => clearInterval(timer), events.close];
}
