// Who did what to this timeline, newest first (the API's audit log).
import { call, timelinePath } from "./api.js";
import { h, message, rerender, when } from "./dom.js";

const SHOWN = 30;
const ACTIONS = { post: "posted", edit: "changed", delete: "deleted" };

export function auditSection(timeline) {
  const list = h("ol", { class: "audit", "aria-labelledby": "audit-title" });
  const feedback = h("p", { role: "alert" });
  const element = h("section", { class: "card" }, h("h2", { id: "audit-title", text: "Audit" }), list, feedback);
  let timer;

  async function refresh() {
    try {
      const { actions } = await call("GET", `${timelinePath(timeline.id)}/audit?limit=${SHOWN}`);
      rerender(list, () => (actions.length ? actions.map(entry) : h("li", { class: "muted", text: "No editorial actions yet." })));
    } catch (error) {
      message(feedback, error.message, true);
    }
  }

  /** Refresh soon: changes come in bursts, one read covers them. */
  function soon() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 500);
  }
  refresh();
  return { element, soon };
}

function entry(action) {
  const changes = Object.entries(action.changes)
    .filter(([, { before, after }]) => JSON.stringify(before) !== JSON.stringify(after))
    .map(
    ([field, { before, after }]) => `${field}: ${shown(before)} → ${shown(after)}`,
  );
  return h("li", {},
    when(action.at), ` · ${action.editor} ${ACTIONS[action.action] ?? action.action} `,
    h("code", { text: action.event_id }),
    changes.length ? h("span", { class: "muted", text: ` (${changes.join("; ")})` }) : null);
}

function shown(value) {
  if (value === null || value === undefined) return "none";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}
