// The editors' post composer: title, body (HTML the server sanitizes, shown as it will be), key event,
// pinned; publishes a new post, or saves an edited one.
import { call, timelinePath } from "./api.js";
import { h, message, sanitizedHtml, say } from "./dom.js";

const PREVIEW_DELAY_MS = 400;

export function composerSection(timeline, stored) {
  const title = h("input", { id: "post-title", maxlength: 300 });
  const body = h("textarea", { id: "post-body", rows: 4, required: true, "aria-describedby": "post-body-help" });
  const keyEvent = h("input", { id: "post-key-event", type: "checkbox" });
  const pinned = h("input", { id: "post-pinned", type: "checkbox" });
  const preview = h("div", { class: "body preview", id: "post-preview" });
  const feedback = h("p", { role: "alert" });
  const publish = h("button", { type: "submit", class: "primary", text: "Publish" });
  const cancel = h("button", { type: "button", hidden: true, text: "Cancel edit", onclick: () => reset() });
  const heading = h("h2", { id: "composer-title", tabindex: "-1", text: "New post" });
  let editing = null; // the post being edited, or null for a new one
  let timer;

  const element = h(
    "section",
    { class: "card" },
    heading,
    h(
      "form",
      { class: "stacked", onsubmit: (event) => submit(event) },
      h("label", { for: "post-title", text: "Title" }),
      title,
      h("label", { for: "post-body", text: "Body" }),
      body,
      h("p", {
        id: "post-body-help",
        class: "muted",
        text: "HTML: bold, italic, links, lists, quotes, images by https URL. Anything else is removed, as the preview shows.",
      }),
      h("p", { class: "checks" },
        h("span", {}, keyEvent, h("label", { for: "post-key-event", text: "Key event" })),
        h("span", {}, pinned, h("label", { for: "post-pinned", text: "Pinned" }))),
      h("h3", { id: "preview-title", text: "Preview" }),
      h("div", { role: "region", "aria-labelledby": "preview-title" }, preview),
      h("p", { class: "actions" }, publish, cancel),
    ),
    feedback,
  );

  body.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(showPreview, PREVIEW_DELAY_MS);
  });

  async function showPreview() {
    if (!body.value.trim()) {
      preview.replaceChildren();
      return;
    }
    try {
      sanitizedHtml(preview, (await call("POST", "/api/v1/preview", { body_html: body.value })).body_html);
    } catch (error) {
      message(feedback, error.message, true);
    }
  }

  async function submit(event) {
    event.preventDefault();
    const fields = { body_html: body.value, key_event: keyEvent.checked, pinned: pinned.checked };
    const events = `${timelinePath(timeline.id)}/events`;
    try {
      let saved;
      if (editing) {
        saved = await call("PATCH", `${events}/${encodeURIComponent(editing.id)}`, { ...fields, title: title.value.trim() || null });
      } else {
        saved = await call("POST", events, title.value.trim() ? { ...fields, title: title.value } : fields);
      }
      stored(saved);
      message(feedback, "");
      say(editing ? "Post saved." : "Post published.");
      reset();
    } catch (error) {
      message(feedback, error.message, true);
    }
  }

  function reset() {
    editing = null;
    for (const field of [title, body]) field.value = "";
    keyEvent.checked = pinned.checked = false;
    preview.replaceChildren();
    heading.textContent = "New post";
    publish.textContent = "Publish";
    cancel.hidden = true;
  }

  /** Load an editorial post into the form to change it. */
  function edit(post) {
    editing = post;
    title.value = post.title ?? "";
    body.value = post.body_html;
    keyEvent.checked = post.key_event;
    pinned.checked = post.pinned;
    heading.textContent = "Edit post";
    publish.textContent = "Save post";
    cancel.hidden = false;
    showPreview();
    heading.focus();
  }

  return { element, edit };
}
