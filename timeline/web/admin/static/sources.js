// A timeline's sources with their health in words; attach one (saying what was found), poll now, remove.
import { call, timelinePath } from "./api.js";
import { act as attempt, h, hidden, message, rerender, when } from "./dom.js";

const STATUS = {
  new: "Not polled yet",
  ok: "Working",
  failing: "Failing",
  "backing-off": "Failing: waiting longer between tries",
  gone: "Gone: the upstream says this page no longer exists; it is not polled any more",
  ended: "Ended: the live blog is over; polled rarely, then not at all",
};

export function sourcesSection(timeline, refresh) {
  const list = h("ul", { class: "sources", "aria-labelledby": "sources-title" });
  const feedback = h("p", { role: "alert" });
  const field = h("input", { id: "source-url", type: "url", required: true, placeholder: "https://…" });
  const form = h(
    "form",
    { class: "stacked", onsubmit: (event) => add(event) },
    h("label", { for: "source-url", text: "Source URL" }),
    field,
    h("button", { type: "submit", class: "primary", text: "Add source" }),
  );
  const element = h("section", { class: "card" }, h("h2", { id: "sources-title", text: "Sources" }), list, form, feedback);

  async function add(event) {
    event.preventDefault();
    const button = form.querySelector("button");
    button.disabled = true;
    message(feedback, "Reading the source…");
    try {
      const added = await call("POST", `${timelinePath(timeline.id)}/sources`, { url: field.value });
      const { format, title, updates } = added.found;
      const named = title ? ` “${title}”` : "";
      message(feedback, `Added: ${format}${named}, ${updates} ${updates === 1 ? "update" : "updates"} found (${added.first_poll.new} new).`);
      field.value = "";
      await refresh();
    } catch (error) {
      message(feedback, `Cannot use this source: ${error.message}`, true);
    } finally {
      button.disabled = false;
    }
  }

  function act(run, done) {
    return attempt(run, done, feedback, refresh);
  }

  function row(source) {
    const health = source.health;
    const path = `${timelinePath(timeline.id)}/sources/${encodeURIComponent(source.id)}`;
    const pollNow = () => act(async () => {
      const counts = await call("POST", `${path}/poll`);
      message(feedback, `Polled ${source.url}: ${counts.new} new, ${counts.updated} updated, ${counts.deleted} deleted.`);
    }, "Polled.");
    const remove = () => {
      if (!confirm(`Remove ${source.url}? Its updates leave the timeline.`)) return;
      act(() => call("DELETE", path), `Removed ${source.url}.`);
    };
    const bad = ["failing", "backing-off", "gone"].includes(health.status);
    const error = health.last_error;
    return h(
      "li",
      { class: `source${bad ? " bad" : ""}` },
      h("p", { class: "url", text: source.url }),
      h(
        "dl",
        {},
        h("dt", { text: "Status" }),
        h("dd", { class: bad ? "error" : "", text: STATUS[health.status] ?? health.status }),
        h("dt", { text: "Format" }),
        h("dd", { text: source.adapter === "auto" ? "detected on each poll" : source.adapter }),
        h("dt", { text: "Last success" }),
        h("dd", {}, when(health.last_success_at)),
        error && [
          h("dt", { text: "Last error" }),
          h("dd", { class: "last-error" }, h("code", { text: error.kind }), `: ${error.message} (`, when(error.at), ")"),
        ],
        health.consecutive_failures > 0 && [h("dt", { text: "Failures in a row" }), h("dd", { text: String(health.consecutive_failures) })],
        h("dt", { text: "Next poll" }),
        h("dd", {}, when(health.next_poll_at, "not scheduled")),
        h("dt", { text: "Interval" }),
        h("dd", { text: health.interval_seconds ? `${Math.round(health.interval_seconds)} s` : "not set yet" }),
        health.held_deletions && [h("dt", { text: "Held deletions" }), h("dd", { class: "error", text: health.held_deletions.message })],
      ),
      h(
        "p",
        { class: "actions" },
        h("button", { type: "button", "data-key": `poll:${source.id}`, onclick: pollNow }, "Poll now", hidden(` ${source.url}`)),
        h("button", { type: "button", class: "danger", "data-key": `remove:${source.id}`, onclick: remove }, "Remove", hidden(` ${source.url}`)),
      ),
    );
  }

  function update(next) {
    timeline = next;
    rerender(list, () => (next.sources.length ? next.sources.map(row) : h("li", { class: "muted", text: "No sources yet." })));
  }
  update(timeline);
  return { element, update };
}
