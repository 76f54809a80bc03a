// On the page that embeds /embed/{id}: each <iframe data-live-timeline> loses its border and is kept
// exactly as tall as its content, so it never scrolls inside. Only messages from that very iframe
// (same window, and the origin of its src) are applied; styles are set through the CSSOM, which a
// host page's strict CSP allows (inline style attributes it would not). A page with several embeds
// loads this once per snippet: the first load does the work.
(() => {
  if (window.liveTimelineHost) return;
  window.liveTimelineHost = true;
  const FRAMES = "iframe[data-live-timeline]";

  const fit = (frame) => {
    frame.style.border = "0";
    frame.style.maxWidth = "100%";
  };

  addEventListener("message", (event) => {
    const data = event.data;
    if (!data || data.type !== "live-timeline:height" || !Number.isFinite(data.height)) return;
    for (const frame of document.querySelectorAll(FRAMES)) {
      if (frame.contentWindow === event.source && new URL(frame.src, location.href).origin === event.origin) {
        fit(frame);
        frame.style.height = `${Math.max(0, Math.ceil(data.height))}px`;
      }
    }
  });

  // Heights posted before this script ran were lost: ask every frame for its height again.
  for (const frame of document.querySelectorAll(FRAMES)) {
    fit(frame);
    frame.contentWindow?.postMessage({ type: "live-timeline:measure" }, new URL(frame.src, location.href).origin);
  }
})();
