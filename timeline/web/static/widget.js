// <live-timeline src="https://HOST/api/v1/timelines/ID">: one timeline, live, in any host page.
//
//   <script type="module" src="https://HOST/widget.js"></script>
//   <live-timeline src="https://HOST/api/v1/timelines/ID" order="desc" limit="20" theme="auto">
//     (optional server-rendered content, shown until the first paint)
//   </live-timeline>
//
// Attributes: `order` (desc|asc; the reader's toggle, kept in localStorage per timeline, wins), `limit`
// (page size), `key-events` (start with the key-events filter on), `theme` (light|dark|auto), `lang`
// (labels and dates; default: the page's language, then the browser's), `height` (space kept from the
// start, so the page never shifts; default 600px, also --lt-height).
// Theming: custom properties --lt-bg, --lt-fg, --lt-muted, --lt-border, --lt-accent, --lt-key,
// --lt-pinned-bg, --lt-font, --lt-padding, --lt-radius, --lt-height, --lt-sticky-top; parts root,
// toolbar, button (order, filter, new, more), state, status, note, summary, pinned, list, item, meta,
// time, permalink, badge (pinned, key, updated), title, editor-note, body, byline. Fires `live-timeline:change`
// (bubbling, composed; detail {shown, pending}) after each change to what it shows.
// Labels: LiveTimeline.labels[language] (en, de, fr, es shipped); a host may add languages to it.
//
// First paint from `GET {src}/events`, then every change from `{src}/stream` (SSE). One stream per
// timeline per browser: the widgets of a page share a Link, and the tabs of an origin elect one leader
// with a Web Lock, which streams and relays over a BroadcastChannel (without both, each page streams).
// A stream not open within a few seconds (the browser's six connections per host are taken, or a proxy
// holds it), or failing, gives way to polling `{src}/changes` through the HTTP cache (ETag) at the
// server's max-age. Changes are applied by event id and seq, so nothing shows twice, and a widget that
// sees a gap in the seqs reads what it missed. `event: reset`, or events of another timeline under the
// same URL, reload the list.
//
// Safety: only the server's sanitized `body_html` becomes HTML, and it is scrubbed again in an inert
// <template>; every other string is set as text. Styles are a constructable stylesheet, which a host
// page's `style-src` CSP does not block. No dependencies, no remote loads.

const CSS = `
:host{--_bg:#fff;--_fg:#1b1b1b;--_mu:#595959;--_ln:#d5d5d5;--_ac:#0b57d0;--_key:#a4262c;--_pin:#f2f5fa;
display:block;color-scheme:light;min-height:var(--lt-height,600px)}
:host([theme=dark]){--_bg:#16181c;--_fg:#e8e8e8;--_mu:#a9a9a9;--_ln:#3b3e44;--_ac:#8ab4f8;--_key:#f28b82;
--_pin:#1e2530;color-scheme:dark}
@media (prefers-color-scheme:dark){:host(:not([theme=light])){--_bg:#16181c;--_fg:#e8e8e8;--_mu:#a9a9a9;
--_ln:#3b3e44;--_ac:#8ab4f8;--_key:#f28b82;--_pin:#1e2530;color-scheme:dark}}
[hidden]{display:none!important}
.root{position:relative;box-sizing:border-box;min-height:inherit;background:var(--lt-bg,var(--_bg));
color:var(--lt-fg,var(--_fg));font:var(--lt-font,16px/1.5 system-ui,sans-serif);
padding:var(--lt-padding,12px 16px);border-radius:var(--lt-radius,8px)}
.bar{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin-bottom:8px}
.state{margin-left:auto;font-size:.8em;color:var(--lt-muted,var(--_mu))}
button{font:inherit;font-size:.875em;color:var(--lt-accent,var(--_ac));background:transparent;
border:1px solid var(--lt-border,var(--_ln));border-radius:999px;padding:4px 12px;min-height:32px;cursor:pointer}
button[aria-pressed=true]{background:var(--lt-accent,var(--_ac));color:var(--lt-bg,var(--_bg));
border-color:transparent}
:focus-visible{outline:2px solid var(--lt-accent,var(--_ac));outline-offset:2px}
.fresh{position:sticky;top:calc(var(--lt-sticky-top,0px) + 8px);height:0;z-index:1;display:flex;
justify-content:center;align-items:flex-start}
.fresh button{background:var(--lt-accent,var(--_ac));color:var(--lt-bg,var(--_bg));border:0;font-weight:600;
white-space:nowrap;padding:6px 16px;box-shadow:0 2px 8px #0005}
ol{list-style:none;margin:0;padding:0}
details{border:1px solid var(--lt-border,var(--_ln));border-radius:6px;padding:4px 12px;margin-bottom:8px}
summary{cursor:pointer;font-weight:600;min-height:24px}
details li{padding:2px 0}details time{color:var(--lt-muted,var(--_mu));font-size:.875em;margin-right:8px}
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
.editor-note{margin:4px 0;padding-left:8px;border-left:2px solid var(--lt-accent,var(--_ac))}
.note{color:var(--lt-muted,var(--_mu))}
.more{display:block;margin:12px auto 0}
.changed{animation:lt-flash 2s ease-out}
@keyframes lt-flash{from{background:color-mix(in srgb,var(--lt-accent,var(--_ac)) 18%,transparent)}}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
@media (prefers-reduced-motion:reduce){*{animation:none!important;scroll-behavior:auto!important}}
`;

// Every label, by language; {0} is a value, [one, other] a plural (Intl.PluralRules).
const LABELS = {
  en: {
    newest: "Newest first", oldest: "Oldest first", order: "Order: {0}. Change order",
    only: "Only key events", keys: "Key events ({0})", key: "Key event", pinned: "Pinned",
    updates: "Updates", more: "Load more", fresh: ["{0} new update", "{0} new updates"],
    loaded: ["{0} more update loaded", "{0} more updates loaded"], none: "No updates yet.",
    noKeys: "No key events yet.", failed: "Updates could not be loaded.",
    retrying: "Updates could not be loaded. Retrying…", moreFailed: "More updates could not be loaded. Try again.",
    noSrc: "Set src to the API URL of a timeline.", updated: "Updated", updatedAt: "Updated {0}",
    reconnecting: "Reconnecting…", editorsNote: "Editor’s note:",
  },
  de: {
    newest: "Neueste zuerst", oldest: "Älteste zuerst", order: "Reihenfolge: {0}. Reihenfolge ändern",
    only: "Nur wichtige Ereignisse", keys: "Wichtige Ereignisse ({0})", key: "Wichtiges Ereignis",
    pinned: "Angeheftet", updates: "Beiträge", more: "Mehr laden", fresh: ["{0} neuer Beitrag", "{0} neue Beiträge"],
    loaded: ["{0} weiterer Beitrag geladen", "{0} weitere Beiträge geladen"], none: "Noch keine Beiträge.",
    noKeys: "Noch keine wichtigen Ereignisse.", failed: "Die Beiträge konnten nicht geladen werden.",
    retrying: "Die Beiträge konnten nicht geladen werden. Neuer Versuch …",
    moreFailed: "Weitere Beiträge konnten nicht geladen werden. Bitte erneut versuchen.",
    noSrc: "src muss die API-URL einer Timeline sein.", updated: "Aktualisiert", updatedAt: "Aktualisiert {0}",
    reconnecting: "Verbindung wird wiederhergestellt …", editorsNote: "Anmerkung der Redaktion:",
  },
  fr: {
    newest: "Plus récents d’abord", oldest: "Plus anciens d’abord", order: "Ordre : {0}. Changer l’ordre",
    only: "Moments clés seulement", keys: "Moments clés ({0})", key: "Moment clé", pinned: "Épinglé",
    updates: "Mises à jour", more: "Afficher plus", fresh: ["{0} nouvelle mise à jour", "{0} nouvelles mises à jour"],
    loaded: ["{0} mise à jour de plus chargée", "{0} mises à jour de plus chargées"],
    none: "Pas encore de mise à jour.", noKeys: "Pas encore de moment clé.",
    failed: "Impossible de charger les mises à jour.", retrying: "Impossible de charger les mises à jour. Nouvel essai…",
    moreFailed: "Impossible de charger plus de mises à jour. Réessayez.",
    noSrc: "Indiquez dans src l’URL d’API d’une timeline.", updated: "Modifié", updatedAt: "Modifié à {0}",
    reconnecting: "Reconnexion…", editorsNote: "Note de la rédaction :",
  },
  es: {
    newest: "Más recientes primero", oldest: "Más antiguas primero", order: "Orden: {0}. Cambiar el orden",
    only: "Solo momentos clave", keys: "Momentos clave ({0})", key: "Momento clave", pinned: "Fijado",
    updates: "Actualizaciones", more: "Cargar más", fresh: ["{0} actualización nueva", "{0} actualizaciones nuevas"],
    loaded: ["{0} actualización más cargada", "{0} actualizaciones más cargadas"],
    none: "Aún no hay actualizaciones.", noKeys: "Aún no hay momentos clave.",
    failed: "No se pudieron cargar las actualizaciones.",
    retrying: "No se pudieron cargar las actualizaciones. Reintentando…",
    moreFailed: "No se pudieron cargar más actualizaciones. Inténtalo de nuevo.",
    noSrc: "Indica en src la URL de la API de un timeline.", updated: "Actualizado",
    updatedAt: "Actualizado a las {0}", reconnecting: "Reconectando…", editorsNote: "Nota de la redacción:",
  },
};

const HOUR = 3600e3;
const OPEN_WITHIN = 4e3; // a stream that has not opened by then is stuck: poll instead
const PAGE = 500;
const HTTP_URL = /^\s*https?:/i;
const URL_ATTRIBUTES = new Set(["href", "src", "action", "formaction", "poster", "background", "cite"]);
const UNSAFE = "script,style,iframe,frame,frameset,object,embed,svg,math,form,input,button,textarea," +
  "select,link,meta,base,template,noscript";

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

/** Labels and formats of one language; `locale` may carry the reader's region for dates. */
function language(tag) {
  let locale;
  try {
    locale = Intl.getCanonicalLocales(tag)[0];
  } catch {
    locale = "en";
  }
  const base = locale.split("-")[0].toLowerCase();
  // A page in "en" read by an "en-GB" browser: British dates.
  if (locale === base) locale = navigator.languages?.find((l) => l.split("-")[0] === base) ?? locale;
  const labels = { ...LABELS.en, ...LABELS[base], ...LABELS[locale.toLowerCase()] };
  const plurals = new Intl.PluralRules(locale);
  const say = (key, value = "") => {
    const label = labels[key];
    const text = Array.isArray(label) ? label[plurals.select(value) === "one" ? 0 : 1] : label;
    return text.replace("{0}", value);
  };
  const format = (options) => new Intl.DateTimeFormat(locale, options);
  return {
    base, say,
    relative: new Intl.RelativeTimeFormat(locale, { numeric: "auto" }),
    absolute: format({ dateStyle: "medium", timeStyle: "short" }),
    full: format({ dateStyle: "full", timeStyle: "long" }),
    clock: format({ timeStyle: "short" }),
  };
}

/** Relative for the last hour ("5 minutes ago"), else date and time. */
function when(words, iso, now = Date.now()) {
  const at = Date.parse(iso);
  const ago = now - at;
  if (ago > -60e3 && ago < HOUR) {
    return ago < 60e3 ? words.relative.format(0, "second") : words.relative.format(-Math.floor(ago / 60e3), "minute");
  }
  return words.absolute.format(at);
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

/** The post's headline: its title, else the start of its text. */
function headline(event) {
  const text = (event.title || event.body_text || "").trim();
  return text.length > 80 ? `${text.slice(0, 80).replace(/\s+\S*$/, "")}…` : text;
}

const reducedMotion = () => matchMedia("(prefers-reduced-motion: reduce)").matches;
const links = new Map(); // src → Link

/**
 * One timeline's changes for this page, shared by its widgets (listeners) and by the tabs of this
 * origin: the tab holding the timeline's Web Lock streams (or polls) and relays every message over a
 * BroadcastChannel; when it closes, the lock passes to another tab, which resumes from the last seq
 * it heard. Messages: {from, seq, events} (changes after seq `from`), {reset: seq}, {state, at}.
 */
class Link {
  static for(src) {
    if (!links.has(src)) links.set(src, new Link(src));
    return links.get(src);
  }

  listeners = new Set();
  seq = 0;
  state = "live"; // live | reconnecting | polling
  at = 0; // when the data was last known to be current
  #bus = null;
  #started = false;
  #leading = false;
  #abort = null;
  #release = null;
  #stream = null;
  #timer = 0;
  #gets = new Map();
  #maxAge = 2;
  #quiet = 0;
  #failures = 0;
  #polledSince = 0;

  constructor(src) {
    this.src = src;
    if (navigator.locks && typeof BroadcastChannel === "function") {
      this.#bus = new BroadcastChannel(`live-timeline ${src}`);
      this.#bus.onmessage = ({ data }) => {
        if (!data.hello) this.#deliver(data);
        else if (this.#leading) this.#bus.postMessage({ state: this.state, at: this.at });
      };
    }
  }

  /** A GET of the API as JSON; identical requests in flight are made once. */
  get(path) {
    if (!this.#gets.has(path)) {
      const got = fetch(this.src + path, { cache: "no-cache", credentials: "omit" }).then((response) => {
        if (!response.ok) throw new Error(`${response.status} from ${path}`);
        const maxAge = /max-age=(\d+)/.exec(response.headers.get("cache-control") ?? "");
        if (maxAge) this.#maxAge = Math.max(1, Number(maxAge[1]));
        return response.json();
      });
      this.#gets.set(path, got);
      got.finally(() => this.#gets.delete(path)).catch(() => {});
    }
    return this.#gets.get(path);
  }

  /** A widget has shown the timeline up to `seq`: from now on, follow it (or lead). */
  start(seq) {
    this.seq = Math.max(this.seq, seq);
    if (this.#started) return;
    this.#started = true;
    if (!this.#bus) return this.#lead();
    this.#abort = new AbortController();
    const name = `live-timeline ${this.src}`;
    navigator.locks.request(name, { signal: this.#abort.signal }, () => new Promise((release) => {
      this.#release = release;
      this.#lead();
    })).catch((error) => {
      // Aborted: the page no longer shows this timeline. Refused (an opaque origin): stream alone.
      if (error.name !== "AbortError" && this.listeners.size) this.#lead();
    });
    this.#bus.postMessage({ hello: 1 }); // the leader answers with its state
  }

  leave(listener) {
    this.listeners.delete(listener);
    if (this.listeners.size) return;
    links.delete(this.src);
    this.#leading = false;
    this.#stop();
    this.#abort?.abort();
    this.#release?.();
    this.#bus?.close();
  }

  #deliver(message) {
    if ("reset" in message) this.seq = message.reset;
    else if (message.state) Object.assign(this, message);
    else this.seq = Math.max(this.seq, message.seq);
    for (const listener of this.listeners) listener(message);
  }

  #send(message) {
    this.#deliver(message);
    this.#bus?.postMessage(message);
  }

  #setState(state) {
    if (this.state === "live" || state !== "reconnecting") this.at = Date.now();
    if (state !== this.state || state === "polling") this.#send({ state, at: this.at });
  }

  #lead() {
    this.#leading = true;
    this.#listen();
  }

  #stop() {
    this.#stream?.close();
    this.#stream = null;
    clearTimeout(this.#timer);
  }

  #listen() {
    this.#stop();
    if (typeof EventSource !== "function") return this.#poll(0, true);
    const stream = new EventSource(`${this.src}/stream?since=${this.seq}`);
    let from = this.seq;
    let errors = 0;
    const receive = (message) => {
      const seq = Number(message.lastEventId);
      this.#send({ from, seq, events: [JSON.parse(message.data)] });
      from = seq;
    };
    stream.addEventListener("upsert", receive);
    stream.addEventListener("delete", receive);
    stream.addEventListener("reset", (message) => {
      from = Number(message.lastEventId);
      this.#send({ reset: from });
    });
    stream.addEventListener("open", () => {
      clearTimeout(this.#timer);
      errors = 0;
      this.#setState("live");
    });
    // The browser reconnects by itself (sending Last-Event-ID); after repeated errors, or when it gives
    // up (an HTTP error such as 503), poll instead.
    stream.addEventListener("error", () => {
      if (stream !== this.#stream) return;
      this.#setState("reconnecting");
      if (++errors >= 3 || stream.readyState === EventSource.CLOSED) this.#fallBack();
    });
    this.#stream = stream;
    this.#timer = setTimeout(() => this.#fallBack(), OPEN_WITHIN);
  }

  #fallBack() {
    this.#stop();
    this.#polledSince = Date.now();
    this.#poll(0, false);
  }

  #poll(delay, always) {
    this.#timer = setTimeout(async () => {
      let wait;
      try {
        const changed = await this.#catchUp();
        const recovered = this.#failures > 0;
        this.#failures = 0;
        this.#quiet = changed ? 0 : Math.min(this.#quiet + 1, 4);
        this.#setState("polling");
        // Back to live push once the server is back, and now and then (the outage may be over).
        if (!always && (recovered || Date.now() - this.#polledSince > 60e3)) return this.#listen();
        wait = this.#maxAge * 1e3 * 2 ** this.#quiet; // max-age while busy, up to 16× while quiet
      } catch {
        this.#setState("reconnecting");
        wait = Math.min(30e3, 1e3 * 2 ** ++this.#failures);
      }
      if (this.#leading) this.#poll(wait * (0.9 + Math.random() * 0.2), always);
    }, delay);
  }

  /** Read `changes` after our seq until there are none; true when any was new. */
  async #catchUp() {
    for (let changed = false; ;) {
      const since = this.seq;
      const page = await this.get(`/changes?since=${since}&limit=${PAGE}`);
      if (page.last_seq < since) {
        this.#send({ reset: page.last_seq }); // the timeline went back: every widget reloads
        return true;
      }
      if (page.changes.length) {
        changed = true;
        this.#send({ from: since, seq: page.next_since, events: page.changes.map((c) => c.event) });
      }
      if (page.changes.length < PAGE) return changed;
    }
  }
}

export class LiveTimeline extends HTMLElement {
  static observedAttributes = ["src", "order", "limit", "key-events", "lang", "height"];
  static labels = LABELS;

  #src = "";
  #link = null;
  #listener = (message) => this.#hear(message);
  #words = language("en");
  #order = "desc";
  #keyOnly = false;
  #timeline = ""; // the id of the timeline shown: another one under the same src is a reset
  #events = new Map(); // id → latest version seen (tombstones too): decides what is new
  #items = new Map(); // id → <li> in the list
  #pins = new Map(); // id → <li> in the pinned list
  #keys = new Map(); // id → key event in the summary
  #pending = new Map(); // id → event held behind the "N new updates" button
  #seq = 0; // changes up to here are applied
  #next = null; // cursor of the page after the last one shown
  #view = 0; // bumped by every reload: answers for an older view are dropped
  #run = 0; // bumped by every (re)start
  #loading = true;
  #catching = false;
  #more = null; // the "load more" in flight
  #topSeen = true; // the list's top is in view, or below it
  #listSeen = false; // some of the list is in view: the reader may be reading it
  #clock = 0;
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
    if (name === "height") this.style.setProperty("--lt-height", /^\d+$/.test(value) ? `${value}px` : value);
    if (!this.#ui || !this.isConnected || old === value || name === "height") return;
    if (name === "src") return this.#start();
    this.#readSettings();
    this.#reload().catch(() => this.#showNote(this.#say("failed")));
  }

  #say(key, value) {
    return this.#words.say(key, value);
  }

  #build() {
    const root = this.attachShadow({ mode: "open" });
    adoptStyles(root);
    const ui = {
      order: h("button", { type: "button", part: "button order" }),
      filter: h("button", { type: "button", part: "button filter", "aria-pressed": "false" }),
      state: h("span", { class: "state", part: "state", hidden: "" }),
      status: h("div", { class: "sr", role: "status", "aria-live": "polite", part: "status" }),
      fallback: h("div", { class: "ssr" }),
      note: h("p", { class: "note", part: "note", hidden: "" }),
      summary: h("details", { part: "summary", hidden: "" }),
      label: h("summary"),
      keys: h("ol"),
      pinned: h("ol", { class: "pinned", part: "pinned", hidden: "" }),
      top: h("div", { class: "top" }),
      fresh: h("button", { type: "button", part: "button new", hidden: "" }),
      list: h("ol", { class: "list", part: "list" }),
      more: h("button", { type: "button", class: "more", part: "button more", hidden: "" }),
    };
    ui.fallback.append(h("slot")); // server-rendered content in the light DOM, until the first paint
    ui.summary.append(ui.label, ui.keys);
    const fresh = h("div", { class: "fresh" });
    fresh.append(ui.fresh);
    const bar = h("div", { class: "bar", part: "toolbar" });
    bar.append(ui.order, ui.filter, ui.state);
    const shell = (ui.root = h("div", { class: "root", part: "root" }));
    shell.append(bar, ui.status, ui.fallback, ui.note, ui.summary, ui.pinned, ui.top, fresh, ui.list, ui.more);
    root.append(shell);
    ui.order.addEventListener("click", () => this.#toggleOrder());
    ui.filter.addEventListener("click", () => this.#toggleFilter());
    ui.fresh.addEventListener("click", () => this.#reveal(true));
    ui.more.addEventListener("click", () => this.#loadMore());
    ui.keys.addEventListener("click", (event) => {
      const link = event.target.closest("a");
      if (link) event.preventDefault(), this.#jump(link.dataset.id);
    });
    const seen = new IntersectionObserver((entries) => this.#onScroll(entries));
    seen.observe(ui.top);
    seen.observe(ui.list);
    this.#ui = ui;
  }

  // ---- lifecycle and the shared connection ------------------------------------------------------

  async #start() {
    this.#stop();
    const run = ++this.#run;
    try {
      this.#src = new URL(this.getAttribute("src"), document.baseURI).href.replace(/\/+$/, "");
      if (!this.getAttribute("src")) throw new TypeError("no src");
    } catch {
      this.#src = "";
      this.#readSettings();
      return this.#showNote(this.#say("noSrc"));
    }
    this.#readSettings(); // after src: the stored order is kept per timeline
    this.#link = Link.for(this.#src);
    this.#link.listeners.add(this.#listener); // before the first page: nothing falls in between
    this.#showState();
    await this.#restart(run);
  }

  /** The first page from scratch (at start, and on a reset), retried until it comes. */
  async #restart(run = this.#run) {
    this.#events.clear();
    this.#keys.clear();
    this.#seq = 0;
    this.#timeline = "";
    for (let attempt = 0; run === this.#run; attempt++) {
      try {
        await this.#reload();
        break;
      } catch {
        this.#showNote(this.#say("retrying"));
        await new Promise((wake) => setTimeout(wake, Math.min(30e3, 1e3 * 2 ** attempt)));
      }
    }
    if (run !== this.#run) return;
    this.#link.start(this.#seq);
    if (this.#link.seq > this.#seq) this.#catchUp(); // changes heard since this page was read
  }

  #stop() {
    this.#run++;
    this.#link?.leave(this.#listener);
    this.#link = null;
  }

  #hear(message) {
    if (message.state) return this.#showState();
    if ("reset" in message) return this.#loading || this.#restart();
    for (const event of message.events) this.#apply(event);
    if (message.from <= this.#seq) this.#seq = Math.max(this.#seq, message.seq);
    else if (!this.#loading) this.#catchUp(); // a gap: changes this widget has not heard
  }

  async #catchUp() {
    if (this.#catching) return;
    this.#catching = true;
    try {
      for (;;) {
        const page = await this.#link.get(`/changes?since=${this.#seq}&limit=${PAGE}`);
        for (const change of page.changes) this.#apply(change.event);
        this.#seq = Math.max(this.#seq, page.next_since);
        if (page.changes.length < PAGE) break;
      }
    } catch {
      // the next message tries again
    } finally {
      this.#catching = false;
    }
  }

  #showState() {
    const { state, at } = this.#link;
    const updated = at ? this.#say("updatedAt", this.#words.clock.format(at)) : "";
    this.#ui.state.textContent = state === "reconnecting" ? this.#say("reconnecting") : updated;
    this.#ui.state.hidden = state === "live";
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
    if (event.timeline_id && this.#timeline && event.timeline_id !== this.#timeline) {
      return this.#loading || this.#restart(); // the URL names another timeline now
    }
    const fresh = !this.#events.has(event.id);
    if (!this.#remember(event) || this.#loading) return;
    this.#summarize(event);
    this.#place(event, fresh);
  }

  #visible(event) {
    return !event.deleted && !event.pinned && (!this.#keyOnly || event.key_event);
  }

  // ---- the view -------------------------------------------------------------------------------------

  /** The reader's stored order wins over the `order` attribute; `key-events` sets the filter. */
  #readSettings() {
    this.#order = this.#storedOrder() ?? (this.getAttribute("order") === "asc" ? "asc" : "desc");
    const keyEvents = this.getAttribute("key-events");
    this.#keyOnly = keyEvents !== null && keyEvents !== "false";
    const tag = this.getAttribute("lang") || this.closest("[lang]")?.lang || document.documentElement.lang;
    this.#words = language(tag || navigator.language || "en");
  }

  /** The first page again, for the current order, filter and language. */
  async #reload() {
    const view = ++this.#view;
    this.#renderControls();
    this.#loading = true;
    const keys = this.#link.get("/events?key_events=true&limit=10");
    await this.#page(null, view, keys);
  }

  async #page(cursor, view, keys) {
    const limit = Math.min(200, Math.max(1, Number.parseInt(this.getAttribute("limit"), 10) || 20));
    const query = new URLSearchParams({ order: this.#order, limit: String(limit) });
    if (this.#keyOnly) query.set("key_events", "true");
    if (cursor) query.set("after", cursor);
    const [page, summary] = await Promise.all([this.#link.get(`/events?${query}`), keys]);
    if (view !== this.#view) return;
    for (const event of [...page.events, ...page.pinned]) this.#remember(event);
    const ui = this.#ui;
    if (!cursor) {
      this.#timeline ||= [...page.events, ...page.pinned, ...summary.events][0]?.timeline_id ?? "";
      ui.list.replaceChildren();
      ui.pinned.replaceChildren();
      this.#items.clear();
      this.#pins.clear();
      this.#pending.clear();
      this.#seq ||= page.last_seq;
      for (const event of summary.events) this.#summarize(this.#events.get(event.id) ?? event, false);
      this.#renderSummary();
      for (const event of page.pinned) this.#pin(this.#events.get(event.id));
    }
    for (const { id } of page.events) {
      const event = this.#events.get(id);
      if (this.#visible(event) && !this.#items.has(id)) ui.list.append(this.#item(event, "item"));
    }
    this.#next = page.next;
    this.#loading = false;
    // Events that changed while this page was on its way (the shown ones are in their latest state).
    for (const event of this.#events.values()) {
      if (event.seq > page.last_seq && !this.#items.has(event.id)) this.#summarize(event), this.#place(event, false);
    }
    ui.fallback.hidden = true;
    this.#rendered();
  }

  async #loadMore() {
    if (this.#more) return this.#more;
    const { more, list } = this.#ui;
    const before = new Set(this.#items.values());
    const focused = this.shadowRoot.activeElement === more; // hiding the button takes its focus away
    try {
      await (this.#more = this.#page(this.#next, this.#view));
    } catch {
      this.#showNote(this.#say("moreFailed"));
    } finally {
      this.#more = null;
    }
    const added = [...list.children].filter((li) => !before.has(li));
    if (added.length) this.#tell(this.#say("loaded", added.length));
    // The button is gone after the last page: focus moves on to what it brought, not to the page.
    if (more.hidden && added.length && focused) added[0].focus();
  }

  /** Show, update or remove one event in place; new ones wait behind the button while the reader reads. */
  #place(event, fresh) {
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
      if (fresh && this.#order === "desc" && !this.#atTop()) this.#pending.set(event.id, event);
      else this.#insert(event);
      if (fresh) this.#announce(1);
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

  #summarize(event, render = true) {
    if (!event.key_event && !this.#keys.has(event.id)) return;
    if (event.deleted || !event.key_event) this.#keys.delete(event.id);
    else this.#keys.set(event.id, event);
    if (render) this.#renderSummary();
  }

  /** The key-events summary: the newest ten, each a link to the post. */
  #renderSummary() {
    const ui = this.#ui;
    const keys = [...this.#keys.values()].sort((a, b) => compare(b, a)).slice(0, 10);
    ui.keys.replaceChildren(...keys.map((key) => {
      const li = h("li");
      const link = h("a", { href: `#${key.id}` }, headline(key));
      link.dataset.id = key.id;
      li.append(h("time", { datetime: key.published_at }, this.#words.clock.format(Date.parse(key.published_at))), link);
      return li;
    }));
    ui.label.textContent = this.#say("keys", this.#keys.size);
    ui.summary.hidden = this.#keys.size === 0;
  }

  /** To a post of the summary: pages are loaded until it is shown, then it is scrolled to and focused. */
  async #jump(id) {
    for (let pages = 0; !this.#items.has(id) && !this.#pins.has(id) && this.#next && pages < 50; pages++) {
      await this.#loadMore();
    }
    const li = this.#items.get(id) ?? this.#pins.get(id);
    li?.scrollIntoView({ block: "start", behavior: reducedMotion() ? "auto" : "smooth" });
    li?.focus({ preventScroll: true });
  }

  #item(event, part) {
    const li = h("li", { part, tabindex: "-1" });
    li.dataset.id = event.id;
    this.#fill(li, event);
    (part === "item" ? this.#items : this.#pins).set(event.id, li);
    return li;
  }

  #fill(li, event, changed = false) {
    const words = this.#words;
    li.classList.toggle("key", event.key_event);
    const at = event.published_at;
    const meta = h("div", { class: "meta", part: "meta" });
    const time = h("time", { datetime: at, title: words.full.format(Date.parse(at)), part: "time" }, when(words, at));
    // The time links to the update on its source, as live blogs do; its name says which update.
    let shownTime = time;
    if (event.url && HTTP_URL.test(event.url)) {
      const rel = "nofollow noopener noreferrer";
      shownTime = h("a", { href: event.url, target: "_blank", rel, part: "permalink" });
      shownTime.append(time, h("span", { class: "sr" }, ` – ${headline(event)}`));
    }
    meta.append(shownTime);
    const edited = event.updated_at ? this.#say("updatedAt", words.clock.format(Date.parse(event.updated_at))) : "";
    const badges = [[event.pinned, "pinned", this.#say("pinned")], [event.key_event, "key", this.#say("key")],
      [event.revision > 1, "updated", edited || this.#say("updated")]];
    for (const [on, name, text] of badges) {
      if (on) meta.append(h("span", { class: `badge ${name}`, part: `badge ${name}` }, text));
    }
    const article = h("article", changed ? { class: "changed" } : {});
    article.append(meta);
    if (event.title) article.append(h("h3", { part: "title" }, event.title));
    if (event.note) {  // the editors' note: plain text, set as text
      const note = h("p", { class: "editor-note", part: "editor-note" });
      note.append(h("strong", {}, this.#say("editorsNote")), " ", event.note);
      article.append(note);
    }
    const body = h("div", { class: "body", part: "body" });
    body.append(fragment(event.body_html));
    article.append(body);
    const byline = event.authors?.join(", ");
    if (byline) article.append(h("p", { class: "by", part: "byline" }, byline));
    li.replaceChildren(article);
  }

  // ---- new updates while the reader reads ---------------------------------------------------------

  #onScroll(entries) {
    for (const entry of entries) {
      if (entry.target === this.#ui.list) {
        this.#listSeen = entry.isIntersecting;
      } else {
        // rootBounds is null in a cross-origin iframe: there "not in view" says nothing of where.
        const below = entry.rootBounds && entry.boundingClientRect.top >= entry.rootBounds.bottom;
        this.#topSeen = entry.isIntersecting || Boolean(below);
      }
    }
    if (this.#atTop() && this.#pending.size) this.#reveal(false);
  }

  /** New posts go straight in unless the reader is reading further down the list. */
  #atTop() {
    return this.#topSeen || !this.#listSeen;
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
    this.#tell(() => {
      const text = this.#say("fresh", this.#announced);
      this.#announced = 0;
      return text;
    }, 500);
  }

  /** Say `text` (or what the function returns, when it is time) in the live region, once. */
  #tell(text, delay = 100) {
    this.#ui.status.textContent = ""; // so that the same message again is a change, and heard again
    clearTimeout(this.#announcer);
    this.#announcer = setTimeout(() => (this.#ui.status.textContent = text.call ? text() : text), delay);
  }

  #rendered() {
    const ui = this.#ui;
    const waiting = this.#pending.size;
    ui.fresh.hidden = waiting === 0;
    ui.fresh.textContent = this.#say("fresh", waiting);
    ui.more.hidden = !this.#next;
    this.#showNote(this.#items.size || waiting ? "" : this.#say(this.#keyOnly ? "noKeys" : "none"));
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
    for (const time of this.shadowRoot.querySelectorAll(".meta time")) time.textContent = when(this.#words, time.dateTime);
  }

  // ---- controls -------------------------------------------------------------------------------------

  #renderControls() {
    const ui = this.#ui;
    ui.root.lang = this.#words.base;
    ui.order.textContent = this.#say(this.#order === "desc" ? "newest" : "oldest");
    ui.order.setAttribute("aria-label", this.#say("order", ui.order.textContent.toLowerCase()));
    ui.filter.textContent = this.#say("only");
    ui.filter.setAttribute("aria-pressed", String(this.#keyOnly));
    ui.more.textContent = this.#say("more");
    ui.list.setAttribute("aria-label", this.#say("updates"));
    ui.pinned.setAttribute("aria-label", this.#say("pinned"));
    ui.label.textContent = this.#say("keys", this.#keys.size);
    if (this.#link) this.#showState();
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
    this.#reload().catch(() => this.#showNote(this.#say("failed")));
  }

  #toggleFilter() {
    this.#keyOnly = !this.#keyOnly;
    this.#reload().catch(() => this.#showNote(this.#say("failed")));
  }
}

if (!customElements.get("live-timeline")) customElements.define("live-timeline", LiveTimeline);
