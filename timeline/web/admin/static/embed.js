// How to embed the timeline: the web component, the iframe (as the service's oEmbed answers it) and the
// oEmbed URL, each with a Copy button, and the embed page itself, live.
import { call } from "./api.js";
import { h, hidden, message, say } from "./dom.js";

export function embedSection(timeline) {
  const feedback = h("p", { role: "alert" });
  const fields = h("div", { class: "snippets" });
  const element = h(
    "section",
    { class: "card" },
    h("h2", { id: "embed-title", text: "Embed" }),
    fields,
    feedback,
    h("h3", { text: "Live preview" }),
    h("iframe", { class: "preview-frame", src: `/embed/${encodeURIComponent(timeline.slug)}`, title: `Live preview of the embed of ${timeline.title}` }),
  );

  function snippet(id, label, value) {
    const field = h("textarea", { id, readonly: true, rows: 3, spellcheck: "false" });
    field.value = value;
    const copy = async () => {
      try {
        await navigator.clipboard.writeText(field.value);
        say(`${label} copied.`);
      } catch {
        field.select();
        message(feedback, "The browser refused to copy: the text is selected, press Ctrl+C (⌘C).", true);
      }
    };
    return h("div", { class: "snippet" },
      h("label", { for: id, text: label }), field,
      h("button", { type: "button", onclick: copy }, "Copy", hidden(` the ${label.toLowerCase()}`)));
  }

  (async () => {
    const embedUrl = `${location.origin}/embed/${encodeURIComponent(timeline.slug)}`;
    try {
      const oembed = await call("GET", `/oembed?url=${encodeURIComponent(embedUrl)}`);
      const base = oembed.provider_url.replace(/\/$/, "");
      const api = `${base}/api/v1/timelines/${encodeURIComponent(timeline.slug)}`;
      const component = `<script type="module" src="${base}/widget.js"></script>\n<live-timeline src="${api}"></live-timeline>`;
      const oembedUrl = `${base}/oembed?url=${encodeURIComponent(`${base}/embed/${timeline.slug}`)}`;
      fields.replaceChildren(
        snippet("snippet-component", "Web component snippet", component),
        snippet("snippet-iframe", "Iframe snippet", oembed.html),
        snippet("snippet-oembed", "oEmbed URL", oembedUrl),
      );
    } catch (error) {
      message(feedback, error.message, true);
    }
  })();
  return { element };
}
