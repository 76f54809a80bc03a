// <live-timeline src="https://HOST/api/v1/timelines/ID">: one timeline, live (issue #7, DESIGN §8).
//
//   <script type="module" src="https://HOST/widget.js"></script>
//   <live-timeline src="https://HOST/api/v1/timelines/ID" order="desc" limit="20" theme="auto">
//     (optional server-rendered content, shown until the first paint)
//   </live-timeline>
//
// Attributes: `order` (desc|asc; the reader's toggle, kept in localStorage per timeline, wins), `limit`
// (page size), `key-events` (start with the key-events filter on), `theme` (light|dark|auto).
// Theming: custom properties --lt-bg, --lt-fg, --lt-muted, --lt-border, --lt-accent, --lt-key,
// --lt-pinned-bg, --lt-font, --lt-padding, --lt-radius; parts root, toolbar, button (order, filter, new,
// more), status, note, pinned, list, item, meta, time, permalink, badge (pinned, key, updated), title,
// body, byline. Fires `live-timeline:change` (bubbling, composed; detail {shown, pending}) after each
// change to what it shows.
//
// First paint from `GET {src}/events` (a page + the pinned events), then every change from the
// `{src}/stream` SSE; when that is unavailable, `{src}/changes` polled through the browser's HTTP cache
// (ETag revalidation) at the server's max-age, backing off while quiet. Changes are applied by event id
// and seq, so replays after a reconnect never show anything twice, and a resume by seq misses nothing.
//
// Safety: only the server's sanitized `body_html` becomes HTML, and it is scrubbed again in an inert
// <template>; every other string is set as text. Styles are a constructable stylesheet, which a host
// page's `style-src` CSP does not block. No dependencies, no remote loads.

const CSS = `
:host{--_bg:#fff;--_fg:#1b1b1b;--_mu:#595959;--_ln:#d5d5d5;--_ac:#0b57d0;--_key:#a4262c;--_pin:#f2f5fa;
display:block;color-scheme:light}
:host([theme=dark]){--_bg:#16181c;--_fg:#e8e8e8;--_mu:#a9a9a9;--_ln:#3b3e44;--_ac:#8ab4f8;--_key:#f28b82;
--_pin:#1e2530;color-scheme:dark}
@media (prefers-color-scheme:dark){:host(:not([theme=light])){--_bg:#16181c;--_fg:#e8e8e8;--_mu:#a9a9a9;
--_ln:#3b3e44;--_ac:#8ab4f8;--_key:#f28b82;--_pin:#1e2530;color-scheme:dark}}
[hidden]{display:none!important}
.root{position:relative;background:var(--lt-bg,var(--_bg));color:var(--lt-fg,var(--_fg));
font:var(--lt-font,16px/1.5 system-ui,sans-serif);padding:var(--lt-padding,12px 16px);
border-radius:var(--lt-radius,8px)}
.bar{display:flex;flex-wrap:wrap;gap:8px;margin-bottom:8px}
button{font:inherit;font-size:.875em;color:var(--lt-accent,var(--_ac));background:transparent;
border:1px solid var(--lt-border,var(--_ln));border-radius:999px;padding:4px 12px;cursor:pointer}
button[aria-pressed=true]{background:var(--lt-accent,var(--_ac));color:var(--lt-bg,var(--_bg));
border-color:transparent}
:focus-visible{outline:2px solid var(--lt-accent,var(--_ac));outline-offset:2px}
.fresh{position:sticky;top:0;height:0;z-index:1;display:flex;justify-content:center}
.fresh button{margin-top:8px;background:var(--lt-accent,var(--_ac));color:var(--lt-bg,var(--_bg));
border:0;box-shadow:0 2px 8px #0004}
ol{list-style:none;margin:0;padding:0}
.pinned li{background:var(--lt-pinned-bg,var(--_pin));border-radius:6px;padding:8px 12px;margin-bottom:8px}
.top{height:1px}
.list li{border-top:1px solid var(--lt-border,var(--_ln));padding:12px 0}
.list li.key{border-left:3px solid var(--lt-key,var(--_key));padding-left:12px}
li:focus{outline:none}
li:focus-visible{outline:2px solid var(--lt-accent,var(--_ac))}
.meta{display:flex;flex-wrap:wrap;gap:8px;align-items:baseline;color:var(--lt-muted,var(--_mu));
font-size:.875em}
.badge{font-size:.8em;font-weight:600;text-transform:uppercase;letter-spacing:.04em}
.badge.key{color:var(--lt-key,var(--_key))}
h3{font-size:1.05em;margin:4px 0}
.body{overflow-wrap:anywhere}
.body>:first-child{margin-top:4px}.body>:last-child{margin-bottom:0}
.body img{max-width:100%;height:auto}
.body table{display:block;overflow-x:auto;border-collapse:collapse}
.body pre{overflow-x:auto}
a{color:var(--lt-accent,var(--_ac))}
.meta a{color:inherit;text-decoration:none}.meta a:hover{text-decoration:underline}
.by{font-size:.875em;color:var(--lt-muted,var(--_mu));margin:4px 0 0}
.note{color:var(--lt-muted,var(--_mu))}
.more{display:block;margin:12px auto 0}
.changed{animation:lt-flash 2s ease-out}
@keyframes lt-flash{from{background:color-mix(in srgb,var(--lt-accent,var(--_ac)) 18%,transparent)}}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
@media (prefers-reduced-motion:reduce){*{animation:none!important;scroll-behavior:auto!important}}
`;

const HOUR = 3600e3;
const HTTP_URL = /^\s*https?:/i;
const URL_ATTRIBUTES = new Set(["href", "src", "action", "formaction", "poster", "background", "cite"]);
const UNSAFE = "script,style,iframe,frame,frameset,object,embed,svg,math,form,input,button,textarea," +
  "select,link,meta,base,template,noscript";
const RELATIVE = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const ABSOLUTE = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const FULL = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "long" });

let sheet = null;
// Hosts that enforce Trusted Types (the embed page does) allow this policy by name. It passes the
// server's sanitized HTML, which `fragment` parses inert and scrubs before anything is inserted.
const policy = (() => {
  try {
    return globalThis.trustedTypes?.createPolicy("live-timeline", { createHTML: (html) => html }) ?? null;
  } catch {
    return null; // the host's CSP does not allow this name: inserting then fails loudly, not unsafely
  }
})();

/** An element with attributes (never event handlers or inline styles) and optional text. */
function h(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

function adoptStyles(root) {
  if ("adoptedStyleSheets" in root && "replaceSync" in CSSStyleSheet.prototype) {
    if (!sheet) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
    }
    root.adoptedStyleSheets = [sheet];
  } else {
    root.append(h("style", {}, CSS)); // old browsers: needs the host's style-src to allow it
  }
}

/** The server's sanitized HTML, parsed inert and scrubbed once more (defence in depth). */
function fragment(html) {
  const template = document.createElement("template");
  template.innerHTML = policy ? policy.createHTML(html) : html;
  const content = template.content;
  for (const node of content.querySelectorAll(UNSAFE)) node.remove();
  for (const node of content.querySelectorAll("*")) {
    for (const { name, value } of [...node.attributes]) {
      const lower = name.toLowerCase();
      if (lower.startsWith("on") || lower === "style" || lower === "srcset" || lower === "srcdoc" ||
          (URL_ATTRIBUTES.has(lower) && !HTTP_URL.test(value)) || lower.includes(":")) {
        node.removeAttribute(name);
      }
    }
    if (node.localName === "a") {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "nofollow noopener noreferrer");
    }
  }
  return content;
}

/** Relative for the last hour ("5 minutes ago"), else date and time, in the reader's locale and zone. */
function when(iso, now = Date.now()) {
  const at = Date.parse(iso);
  const ago = now - at;
  if (ago > -60e3 && ago < HOUR) {
    return ago < 60e3 ? RELATIVE.format(0, "second") : RELATIVE.format(-Math.floor(ago / 60e3), "minute");
  }
  return ABSOLUTE.format(at);
}

/** `published_at` with six fraction digits, so timestamps compare as strings. */
function stamp(iso) {
  return iso.replace(/(?:\.(\d+))?Z$/, (_, digits = "") => `.${digits.padEnd(6, "0")}Z`);
}

/** The API's order: published_at, then the source's position, then id (ascending). */
function compare(a, b) {
  const x = stamp(a.published_at);
  const y = stamp(b.published_at);
  if (x !== y) return x < y ? -1 : 1;
  return a.position - b.position || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

const plural = (n) => `${n} new update${n === 1 ? "" : "s"}`;
const reducedMotion = () => matchMedia("(prefers-reduced-motion: reduce)").matches;

export class LiveTimeline extends HTMLElement {
  static observedAttributes = ["src", "order", "limit", "key-events"];

  #src = "";
  #order = "desc";
  #keyOnly = false;
  #events = new Map(); // id → latest version seen (tombstones too): decides what is new
  #items = new Map(); // id → <li> in the list
  #pins = new Map(); // id → <li> in the pinned list
  #pending = new Map(); // id → event held behind the "N new updates" button
  #seq = 0; // changes up to here are applied
  #next = null; // cursor of the page after the last one shown
  #view = 0; // bumped by every reload: answers for an older view are dropped
  #run = 0; // bumped by every (re)start: timers and streams of an older run stop
  #loading = true;
  #atTop = true;
  #stream = null;
  #timer = 0;
  #clock = 0;
  #maxAge = 2;
  #quiet = 0;
  #failures = 0;
  #streamErrors = 0;
  #polledSince = 0;
  #announced = 0;
  #announcer = 0;
  #ui = null;

  connectedCallback() {
    if (!this.#ui) this.#build();
    this.#clock = setInterval(() => this.#retime(), 30e3);
    this.#start();
  }

  disconnectedCallback() {
    this.#stop();
    clearInterval(this.#clock);
  }

  attributeChangedCallback(name, old, value) {
    if (!this.#ui || !this.isConnected || old === value) return;
    if (name === "src") return this.#start();
    this.#readSettings();
    this.#reload().catch(() => this.#showNote("Updates could not be loaded."));
  }

  #build() {
    const root = this.attachShadow({ mode: "open" });
    adoptStyles(root);
    const ui = {
      order: h("button", { type: "button", part: "button order" }),
      filter: h("button", { type: "button", part: "button filter", "aria-pressed": "false" }, "Key events"),
      status: h("div", { class: "sr", role: "status", "aria-live": "polite", part: "status" }),
      fallback: h("div", { class: "ssr" }),
      note: h("p", { class: "note", part: "note", hidden: "" }),
      pinned: h("ol", { class: "pinned", part: "pinned", "aria-label": "Pinned", hidden: "" }),
      top: h("div", { class: "top" }),
      fresh: h("button", { type: "button", part: "button new", hidden: "" }),
      list: h("ol", { class: "list", part: "list", "aria-label": "Updates" }),
      more: h("button", { type: "button", class: "more", part: "button more", hidden: "" }, "Load more"),
    };
    ui.fallback.append(h("slot")); // server-rendered content in the light DOM, until the first paint
    const fresh = h("div", { class: "fresh" });
    fresh.append(ui.fresh);
    const bar = h("div", { class: "bar", part: "toolbar" });
    bar.append(ui.order, ui.filter);
    const shell = h("div", { class: "root", part: "root" });
    shell.append(bar, ui.status, ui.fallback, ui.note, ui.pinned, ui.top, fresh, ui.list, ui.more);
    root.append(shell);
    ui.order.addEventListener("click", () => this.#toggleOrder());
    ui.filter.addEventListener("click", () => this.#toggleFilter());
    ui.fresh.addEventListener("click", () => this.#reveal(true));
    ui.more.addEventListener("click", () => this.#loadMore());
    new IntersectionObserver(([entry]) => this.#onScroll(entry)).observe(ui.top);
    this.#ui = ui;
  }

  // ---- lifecycle and network --------------------------------------------------------------------

  async #start() {
    this.#stop();
    const run = ++this.#run;
    const src = this.getAttribute("src");
    try {
      if (!src) throw new TypeError("no src");
      this.#src = new URL(src, document.baseURI).href.replace(/\/+$/, "");
    } catch {
      return this.#showNote("Set src to the API URL of a timeline.");
    }
    this.#readSettings();
    this.#events.clear();
    this.#seq = 0;
    this.#streamErrors = 0;
    for (let attempt = 0; run === this.#run; attempt++) {
      try {
        await this.#reload();
        break;
      } catch {
        this.#showNote("Updates could not be loaded. Retrying…");
        await new Promise((wake) => setTimeout(wake, Math.min(30e3, 1e3 * 2 ** attempt)));
      }
    }
    if (run === this.#run) this.#listen();
  }

  #stop() {
    this.#run++;
    this.#stream?.close();
    this.#stream = null;
    clearTimeout(this.#timer);
  }

  async #get(path) {
    const response = await fetch(this.#src + path, { cache: "no-cache", credentials: "omit" });
    if (!response.ok) throw new Error(`${response.status} from ${path}`);
    const maxAge = /max-age=(\d+)/.exec(response.headers.get("cache-control") ?? "");
    if (maxAge) this.#maxAge = Math.max(1, Number(maxAge[1]));
    return response.json();
  }

  #listen() {
    if (typeof EventSource === "undefined") {
      this.#polledSince = Number.POSITIVE_INFINITY; // never retry
      return this.#poll(0);
    }
    const run = this.#run;
    const stream = new EventSource(`${this.#src}/stream?since=${this.#seq}`);
    const receive = (message) => {
      this.#streamErrors = 0;
      this.#seq = Math.max(this.#seq, Number(message.lastEventId) || 0);
      this.#apply(JSON.parse(message.data));
    };
    stream.addEventListener("upsert", receive);
    stream.addEventListener("delete", receive);
    stream.addEventListener("open", () => (this.#streamErrors = 0));
    // The browser reconnects by itself (sending Last-Event-ID); after repeated errors, or when it gives
    // up (an HTTP error such as 503), poll instead.
    stream.addEventListener("error", () => {
      if (run !== this.#run) return;
      if (++this.#streamErrors < 3 && stream.readyState !== EventSource.CLOSED) return;
      stream.close();
      this.#stream = null;
      this.#polledSince = Date.now();
      this.#poll(0);
    });
    this.#stream = stream;
  }

  #poll(delay) {
    const run = this.#run;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(async () => {
      let wait;
      try {
        const changed = await this.#catchUp(run);
        if (run !== this.#run) return;
        this.#failures = 0;
        this.#quiet = changed ? 0 : Math.min(this.#quiet + 1, 4);
        // Retry live push now and then: the outage that closed it may be over.
        if (Date.now() - this.#polledSince > 60e3) return this.#listen();
        wait = this.#maxAge * 1e3 * 2 ** this.#quiet; // max-age while busy, up to 16× while quiet
      } catch {
        wait = Math.min(60e3, 1e3 * 2 ** ++this.#failures);
      }
      if (run === this.#run) this.#poll(wait * (0.9 + Math.random() * 0.2));
    }, delay);
  }

  /** Read `changes` after our seq until there are none; true when any was new. */
  async #catchUp(run) {
    let changed = false;
    for (;;) {
      const page = await this.#get(`/changes?since=${this.#seq}&limit=500`);
      if (run !== this.#run) return changed;
      for (const change of page.changes) changed = this.#apply(change.event) || changed;
      this.#seq = Math.max(this.#seq, page.next_since);
      if (page.changes.length < 500) return changed;
    }
  }

  // ---- the model: events by id and seq ------------------------------------------------------------

  /** Keep `event` if it is newer than what we have; false for a replay or a stale copy. */
  #remember(event) {
    const known = this.#events.get(event.id);
    if (known && known.seq >= event.seq) return false;
    this.#events.set(event.id, event);
    return true;
  }

  #apply(event) {
    if (!this.#remember(event)) return false;
    if (!this.#loading) this.#place(event, true);
    return true;
  }

  #visible(event) {
    return !event.deleted && (!this.#keyOnly || event.key_event);
  }

  // ---- the view -------------------------------------------------------------------------------------

  /** The reader's stored order wins over the `order` attribute; `key-events` sets the filter. */
  #readSettings() {
    this.#order = this.#storedOrder() ?? (this.getAttribute("order") === "asc" ? "asc" : "desc");
    const keyEvents = this.getAttribute("key-events");
    this.#keyOnly = keyEvents !== null && keyEvents !== "false";
  }

  /** The first page again, for the current order and filter. */
  async #reload() {
    const view = ++this.#view;
    this.#renderControls();
    this.#loading = true;
    await this.#page(null, view);
  }

  async #page(cursor, view) {
    const limit = Math.min(200, Math.max(1, Number.parseInt(this.getAttribute("limit"), 10) || 20));
    const query = new URLSearchParams({ order: this.#order, limit: String(limit) });
    if (this.#keyOnly) query.set("key_events", "true");
    if (cursor) query.set("after", cursor);
    const page = await this.#get(`/events?${query}`);
    if (view !== this.#view) return;
    for (const event of [...page.events, ...page.pinned]) this.#remember(event);
    const ui = this.#ui;
    if (!cursor) {
      ui.list.replaceChildren();
      ui.pinned.replaceChildren();
      this.#items.clear();
      this.#pins.clear();
      this.#pending.clear();
      for (const event of page.pinned) this.#pin(this.#events.get(event.id));
    }
    for (const { id } of page.events) {
      const event = this.#events.get(id);
      if (this.#visible(event) && !this.#items.has(id)) ui.list.append(this.#item(event, "item"));
    }
    this.#next = page.next;
    this.#loading = false;
    this.#seq ||= page.last_seq;
    // Events that changed while this page was on its way (the shown ones are in their latest state).
    for (const event of this.#events.values()) {
      if (event.seq > page.last_seq && !this.#items.has(event.id)) this.#place(event, false);
    }
    ui.fallback.hidden = true;
    this.#rendered();
  }

  async #loadMore() {
    const more = this.#ui.more;
    more.disabled = true;
    try {
      await this.#page(this.#next, this.#view);
    } catch {
      this.#showNote("More updates could not be loaded. Try again.");
    } finally {
      more.disabled = false;
    }
  }

  /** Show, update or remove one event in place; `live` new ones wait behind the button when scrolled. */
  #place(event, live) {
    this.#pin(event);
    const shown = this.#items.get(event.id);
    if (!this.#visible(event)) {
      shown?.remove();
      this.#items.delete(event.id);
      this.#pending.delete(event.id);
    } else if (shown) {
      this.#fill(shown, event, true);
    } else if (this.#pending.has(event.id)) {
      this.#pending.set(event.id, event);
    } else if (!this.#beyond(event)) {
      if (live && this.#order === "desc" && !this.#atTop) this.#pending.set(event.id, event);
      else this.#insert(event);
      if (live) this.#announce(1);
    }
    this.#rendered();
  }

  /** True when the event sorts after the last shown one while more pages exist: "load more" brings it. */
  #beyond(event) {
    const last = this.#ui.list.lastElementChild;
    if (!this.#next || !last) return false;
    const order = compare(event, this.#events.get(last.dataset.id));
    return this.#order === "desc" ? order < 0 : order > 0;
  }

  #insert(event) {
    const sign = this.#order === "desc" ? -1 : 1;
    const after = [...this.#ui.list.children].find(
      (li) => sign * compare(this.#events.get(li.dataset.id), event) > 0,
    );
    this.#ui.list.insertBefore(this.#item(event, "item"), after ?? null);
  }

  #pin(event) {
    const shown = this.#pins.get(event.id);
    if (event.deleted || !event.pinned) {
      shown?.remove();
      this.#pins.delete(event.id);
    } else if (shown) {
      this.#fill(shown, event);
    } else {
      // Newest first, like the API's `pinned`.
      const pins = [...this.#pins.values()];
      const after = pins.find((li) => compare(this.#events.get(li.dataset.id), event) < 0);
      this.#ui.pinned.insertBefore(this.#item(event, "item pinned"), after ?? null);
    }
    this.#ui.pinned.hidden = this.#pins.size === 0;
  }

  #item(event, part) {
    const li = h("li", { part, tabindex: "-1" });
    li.dataset.id = event.id;
    this.#fill(li, event);
    (part === "item" ? this.#items : this.#pins).set(event.id, li);
    return li;
  }

  #fill(li, event, changed = false) {
    li.classList.toggle("key", event.key_event);
    const at = event.published_at;
    const meta = h("div", { class: "meta", part: "meta" });
    const time = h("time", { datetime: at, title: FULL.format(Date.parse(at)), part: "time" }, when(at));
    // The time links to the update on its source, as live blogs do.
    let shownTime = time;
    if (event.url && HTTP_URL.test(event.url)) {
      const rel = "nofollow noopener noreferrer";
      shownTime = h("a", { href: event.url, target: "_blank", rel, part: "permalink" });
      shownTime.append(time);
    }
    meta.append(shownTime);
    const badges = [[event.pinned, "pinned", "Pinned"], [event.key_event, "key", "Key event"],
      [event.revision > 1, "updated", "Updated"]];
    for (const [on, name, text] of badges) {
      if (on) meta.append(h("span", { class: `badge ${name}`, part: `badge ${name}` }, text));
    }
    const article = h("article", changed ? { class: "changed" } : {});
    article.append(meta);
    if (event.title) article.append(h("h3", { part: "title" }, event.title));
    const body = h("div", { class: "body", part: "body" });
    body.append(fragment(event.body_html));
    article.append(body);
    const byline = event.authors?.join(", ");
    if (byline) article.append(h("p", { class: "by", part: "byline" }, byline));
    li.replaceChildren(article);
  }

  // ---- new updates while scrolled -------------------------------------------------------------------

  #onScroll(entry) {
    const below = entry.rootBounds && entry.boundingClientRect.top >= entry.rootBounds.bottom;
    this.#atTop = entry.isIntersecting || Boolean(below); // the list's top is in view, or not reached yet
    if (this.#atTop && this.#pending.size) this.#reveal(false);
  }

  /** Insert the held updates; from the button, scroll to them and move focus to the newest. */
  #reveal(fromButton) {
    for (const event of this.#pending.values()) this.#insert(event);
    this.#pending.clear();
    this.#rendered();
    if (fromButton) {
      this.#ui.list.firstElementChild?.focus({ preventScroll: true });
      this.#ui.top.scrollIntoView({ block: "start", behavior: reducedMotion() ? "auto" : "smooth" });
    }
  }

  /** Tell screen readers how many updates arrived (one message per burst, never the list itself). */
  #announce(count) {
    this.#announced += count;
    this.#ui.status.textContent = ""; // so that the same message again is a change, and heard again
    clearTimeout(this.#announcer);
    this.#announcer = setTimeout(() => {
      this.#ui.status.textContent = plural(this.#announced);
      this.#announced = 0;
    }, 500);
  }

  #rendered() {
    const ui = this.#ui;
    const waiting = this.#pending.size;
    ui.fresh.hidden = waiting === 0;
    ui.fresh.textContent = plural(waiting);
    ui.more.hidden = !this.#next;
    const empty = this.#keyOnly ? "No key events yet." : "No updates yet.";
    this.#showNote(this.#items.size || waiting ? "" : empty);
    this.dispatchEvent(new CustomEvent("live-timeline:change", {
      bubbles: true,
      composed: true,
      detail: { shown: this.#items.size, pending: waiting },
    }));
  }

  #showNote(text) {
    this.#ui.note.textContent = text;
    this.#ui.note.hidden = !text;
  }

  #retime() {
    for (const time of this.shadowRoot.querySelectorAll("time")) time.textContent = when(time.dateTime);
  }

  // ---- controls -------------------------------------------------------------------------------------

  #renderControls() {
    const ui = this.#ui;
    ui.order.textContent = this.#order === "desc" ? "Newest first" : "Oldest first";
    ui.order.setAttribute("aria-label", `Order: ${ui.order.textContent.toLowerCase()}. Change order`);
    ui.filter.setAttribute("aria-pressed", String(this.#keyOnly));
  }

  #storageKey() {
    return `live-timeline:order:${this.#src}`;
  }

  #storedOrder() {
    try {
      const stored = localStorage.getItem(this.#storageKey());
      return stored === "asc" || stored === "desc" ? stored : null;
    } catch {
      return null; // storage blocked (sandboxed iframe, privacy settings)
    }
  }

  #toggleOrder() {
    this.#order = this.#order === "desc" ? "asc" : "desc";
    try {
      localStorage.setItem(this.#storageKey(), this.#order);
    } catch {
      // not remembered, but still applied
    }
    this.#reload().catch(() => this.#showNote("Updates could not be loaded."));
  }

  #toggleFilter() {
    this.#keyOnly = !this.#keyOnly;
    this.#reload().catch(() => this.#showNote("Updates could not be loaded."));
  }
}

if (!customElements.get("live-timeline")) customElements.define("live-timeline", LiveTimeline);
