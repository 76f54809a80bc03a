// A timeline's webhooks: each subscription with its health in words and its recent deliveries; add one,
// send a test, rotate the secret, disable or enable, remove. A secret lives only in the field that shows
// it, once: never in storage, a URL or anything drawn again, so leaving the page forgets it.
import { call, timelinePath } from "./api.js";
import { act as attempt, h, hidden, message, rerender, say, when } from "./dom.js";

const DELIVERIES = 10;
const KINDS = { upsert: "upserts", delete: "deletions" };
const TYPES = { "event.upsert": "upsert", "event.delete": "deletion", ping: "test (ping)" };

export function webhooksSection(timeline) {
  const base = `${timelinePath(timeline.id)}/webhooks`;
  const list = h("ul", { class: "webhooks", "aria-labelledby": "webhooks-title" });
  const feedback = h("p", { role: "alert" });
  const secretArea = h("div", { class: "secret-area" });
  const url = h("input", { id: "webhook-url", type: "url", required: true, placeholder: "https://…" });
  const upserts = h("input", { id: "webhook-upserts", type: "checkbox", checked: true });
  const deletions = h("input", { id: "webhook-deletions", type: "checkbox", checked: true });
  const keyOnly = h("input", { id: "webhook-key-only", type: "checkbox" });
  const description = h("input", { id: "webhook-description", maxlength: 300 });
  const form = h(
    "form",
    { class: "stacked", onsubmit: (event) => add(event) },
    h("h3", { text: "Add a webhook" }),
    h("label", { for: "webhook-url", text: "Webhook URL" }),
    url,
    h("fieldset", { class: "checks" },
      h("legend", { text: "Event types" }),
      h("span", {}, upserts, h("label", { for: "webhook-upserts", text: "upsert" })),
      h("span", {}, deletions, h("label", { for: "webhook-deletions", text: "delete" }))),
    h("p", { class: "checks" }, h("span", {}, keyOnly, h("label", { for: "webhook-key-only", text: "Key events only" }))),
    h("label", { for: "webhook-description", text: "Description" }),
    description,
    h("button", { type: "submit", class: "primary", text: "Add webhook" }),
  );
  const heading = h("h2", { id: "webhooks-title", tabindex: "-1", text: "Webhooks" });
  const element = h(
    "section",
    { class: "card" },
    heading,
    secretArea,
    list,
    form,
    feedback,
  );

  async function add(event) {
    event.preventDefault();
    const events = [upserts.checked && "upsert", deletions.checked && "delete"].filter(Boolean);
    if (!events.length) {
      message(feedback, "Choose at least one event type: upsert, delete or both.", true);
      return;
    }
    const body = { url: url.value, events, key_events_only: keyOnly.checked };
    if (description.value.trim()) body.description = description.value.trim();
    try {
      const created = await call("POST", base, body);
      message(feedback, "");
      showSecret(created, "Webhook added: its secret");
      url.value = description.value = "";
      upserts.checked = deletions.checked = true;
      keyOnly.checked = false;
    } catch (error) {
      message(feedback, `Cannot add this webhook: ${error.message}`, true);
    }
    await refresh();
  }

  /** The secret of `webhook`, this once, with Copy; gone at `Done` or when the page is left. */
  function showSecret(webhook, said, note = "") {
    const field = h("input", { id: "webhook-secret", readonly: true, spellcheck: "false", autocomplete: "off",
      "aria-describedby": "webhook-secret-help" });
    field.value = webhook.secret;
    const copy = async () => {
      try {
        await navigator.clipboard.writeText(field.value);
        say("Secret copied.");
      } catch {
        field.select();
        message(feedback, "The browser refused to copy: the secret is selected, press Ctrl+C (⌘C).", true);
      }
    };
    const title = h("h3", { id: "webhook-secret-title", tabindex: "-1", text: said });
    secretArea.replaceChildren(
      h("div", { class: "secret", role: "region", "aria-labelledby": "webhook-secret-title" },
        title,
        h("p", { id: "webhook-secret-help",
          text: `The secret that signs deliveries to ${webhook.url}.${note} Copy it now: it will not be shown again.` }),
        h("label", { for: "webhook-secret", text: "Secret" }),
        field,
        h("p", { class: "actions" },
          h("button", { type: "button", class: "primary", onclick: copy }, "Copy", hidden(" the secret")),
          h("button", { type: "button", onclick: forget }, "Done", hidden(" with the secret")))),
    );
    title.focus();
  }

  function forget() {
    secretArea.replaceChildren();
    heading.focus();
  }

  function act(run, done) {
    return attempt(run, done, feedback, refresh);
  }

  function row(webhook, attempts) {
    const path = `${base}/${encodeURIComponent(webhook.id)}`;
    const test = () => act(async () => {
      await call("POST", `${path}/test`);
      message(feedback, `Test asked for ${webhook.url}: it shows under its deliveries once sent.`);
    }, "Test asked for.");
    const rotate = async () => {
      try {
        const rotated = await call("POST", `${path}/rotate-secret`);
        showSecret(rotated, "Secret rotated: the new secret", " The old one signs beside it for 24 hours, while the receiver switches.");
      } catch (error) {
        message(feedback, error.message, true);
      }
      await refresh();
    };
    const toggle = () => act(() => call("PATCH", path, { enabled: !webhook.enabled }), webhook.enabled ? "Webhook disabled." : "Webhook enabled.");
    const remove = () => {
      if (!confirm(`Remove the webhook to ${webhook.url}? Nothing more is sent to it.`)) return;
      act(() => call("DELETE", path), `Removed the webhook to ${webhook.url}.`);
    };
    const button = (label, key, onclick, extra = {}) =>
      h("button", { type: "button", "data-key": `${key}:${webhook.id}`, onclick, ...extra },
        label, hidden(` ${webhook.description ?? webhook.url}`));
    const titleId = `webhook-${webhook.id}`;
    return h(
      "li",
      { class: `webhook${webhook.health.state === "active" ? "" : " bad"}` },
      h("h3", { id: titleId, class: "url", text: webhook.description ?? webhook.url }),
      webhook.description && h("p", { class: "url muted", text: webhook.url }),
      h("dl", {}, ...health(webhook)),
      h(
        "p",
        { class: "actions" },
        webhook.enabled && button("Send test", "test", test),
        button("Rotate secret", "rotate", rotate),
        button(webhook.enabled ? "Disable" : "Enable", "toggle", toggle),
        button("Remove", "remove", remove, { class: "danger" }),
      ),
      h("h4", { id: `${titleId}-deliveries`, text: "Recent deliveries" }),
      attempts === null
        ? h("p", { class: "muted", text: "Not read yet." })
        : h("ol", { class: "deliveries", "aria-labelledby": `${titleId}-deliveries` },
          attempts.length ? attempts.map(delivery) : h("li", { class: "muted", text: "None yet." })),
    );
  }

  const shown = new Map(); // webhook id → its attempts as last read, so a failed read keeps the last ones
  let latest = 0; // the newest read started: an older one answering later must not draw over it

  async function refresh() {
    const read = ++latest;
    try {
      const webhooks = await call("GET", base);
      const reads = webhooks.map((w) => call("GET", `${base}/${encodeURIComponent(w.id)}/deliveries?limit=${DELIVERIES}`)
        .then(({ attempts }) => shown.set(w.id, attempts), () => {}));
      await Promise.all(reads);
      if (read !== latest) return;
      rerender(list, () => (webhooks.length ? webhooks.map((w) => row(w, shown.get(w.id) ?? null)) : h("li", { class: "muted", text: "No webhooks yet." })));
    } catch (error) {
      message(feedback, error.message, true);
    }
  }

  refresh();
  return { element, refresh };
}

const STATE = { active: "Active", failing: "Failing: retrying", disabled: "Disabled" };

function health(webhook) {
  const { state, reason, last_success_at, last_failure_at, last_failure, consecutive_failures, next_attempt_at } = webhook.health;
  const bad = state !== "active";
  const stateSaid = state === "disabled" ? `Disabled: ${reason ?? "by an editor"}` : STATE[state] ?? state;
  return [
    h("dt", { text: "State" }),
    h("dd", { class: bad ? "error state" : "state", text: stateSaid }),
    h("dt", { text: "Sends" }),
    h("dd", { text: sends(webhook) }),
    h("dt", { text: "Last success" }),
    h("dd", {}, when(last_success_at)),
    h("dt", { text: "Last failure" }),
    h("dd", { class: last_failure ? "last-failure" : "" },
      last_failure_at ? [when(last_failure_at), last_failure ? `: ${last_failure}` : ""] : "never"),
    consecutive_failures > 0 && [h("dt", { text: "Failures in a row" }), h("dd", { text: String(consecutive_failures) })],
    state === "failing" && next_attempt_at && [h("dt", { text: "Next try" }), h("dd", {}, when(next_attempt_at))],
    h("dt", { text: "Delivered up to" }),
    h("dd", { text: `seq ${webhook.cursor}` }),
  ];
}

function sends(webhook) {
  const kinds = webhook.events.map((kind) => KINDS[kind] ?? kind).join(" and ");
  if (!webhook.key_events_only) return kinds;
  // A tombstone does not say whether it was a key event: every deletion goes out.
  return webhook.events.includes("delete") ? `${kinds}, upserts of key events only` : `${kinds} of key events only`;
}

function delivery(attempt) {
  const answer = attempt.status_code === null ? "no answer" : `HTTP ${attempt.status_code}`;
  const latency = attempt.latency === null ? "" : ` in ${Math.round(attempt.latency * 1000)} ms`;
  const ok = attempt.status_code !== null && attempt.status_code >= 200 && attempt.status_code < 300;
  return h("li", { class: ok ? "" : "error" },
    when(attempt.at),
    ` · ${TYPES[attempt.type] ?? attempt.type}${attempt.seq === null ? "" : ` seq ${attempt.seq}`}`,
    ` · ${answer}${latency} · attempt ${attempt.attempt}`,
    attempt.error ? ` · ${attempt.error}` : "");
}
