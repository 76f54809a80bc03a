// On the page that embeds /embed/{id}: each <iframe data-live-timeline> loses its border and is kept
// exactly as tall as its content, so it never scrolls inside. Only messages from that very iframe
// (same window, and the origin of its src) are applied; styles are set through the CSSOM, which a
// host page's strict CSP allows (inline style attributes it would not). As the page scrolls, each
// frame is told how far its top is above the viewport, where its "new updates" button then stays.
// A page with several embeds loads this once per snippet: the first load does the work.
(() => {
  if (window.liveTimelineHost) return;
  window.liveTimelineHost = true;
  const FRAMES = "iframe[data-live-timeline]";
  const origin = (frame) => new URL(frame.src, location.href).origin;
  // Until the embed has loaded, a frame holds its initial about:blank, of this page's origin: a message
  // addressed to the embed's origin would be refused there, with a warning in the console.
  const loaded = (frame) => frame.contentDocument?.URL !== "about:blank";
  const shown = new WeakMap(); // frame → the top last told

  const fit = (frame) => {
    frame.style.border = "0";
    frame.style.maxWidth = "100%";
  };

  const tell = (frame, message) => frame.contentWindow?.postMessage(message, origin(frame));

  addEventListener("message", (event) => {
    const data = event.data;
    if (!data || data.type !== "live-timeline:height" || !Number.isFinite(data.height)) return;
    for (const frame of document.querySelectorAll(FRAMES)) {
      if (frame.contentWindow === event.source && origin(frame) === event.origin) {
        fit(frame);
        frame.style.height = `${Math.max(0, Math.ceil(data.height))}px`;
      }
    }
  });

  let pending = false;
  const view = () => {
    pending = false;
    for (const frame of document.querySelectorAll(FRAMES)) {
      const box = frame.getBoundingClientRect();
      const top = Math.round(Math.min(Math.max(0, -box.top), box.height));
      if (loaded(frame) && shown.get(frame) !== top) {
        shown.set(frame, top);
        tell(frame, { type: "live-timeline:view", top });
      }
    }
  };
  const soon = () => pending || ((pending = true), requestAnimationFrame(view));
  addEventListener("scroll", soon, { passive: true });
  addEventListener("resize", soon);

  for (const frame of document.querySelectorAll(FRAMES)) {
    fit(frame);
    // Heights posted before this script ran were lost: ask again now, or once the embed has loaded.
    frame.addEventListener("load", () => {
      shown.delete(frame);
      tell(frame, { type: "live-timeline:measure" });
      soon();
    });
    if (loaded(frame)) tell(frame, { type: "live-timeline:measure" });
  }
})();
