// Tells the page that frames this embed how tall its content is, so the iframe never scrolls inside.
// Message: {type: "live-timeline:height", id, height}; /embed-host.js on the host page applies it.
const root = document.documentElement;
const id = root.dataset.timeline ?? null;
let sent = -1;

function post() {
  const height = Math.ceil(root.getBoundingClientRect().height);
  if (height === sent) return;
  sent = height;
  // A height is no secret, and the embedding origin is unknown here: any parent may read it.
  window.parent.postMessage({ type: "live-timeline:height", id, height }, "*");
}

if (window.parent !== window) {
  new ResizeObserver(post).observe(root); // images and fonts that change the height later
  // An iframe out of view is not rendered, so its ResizeObserver stays silent: after every change the
  // widget makes, and on every resize, the height is measured (which lays the page out) and posted.
  addEventListener("live-timeline:change", post);
  addEventListener("resize", post);
  addEventListener("message", (event) => {
    const data = event.data;
    if (event.source !== window.parent) return;
    if (data?.type === "live-timeline:measure") {
      sent = -1; // the host's script may start after our first heights were posted: it asks again
      post();
    } else if (data?.type === "live-timeline:view" && Number.isFinite(data.top)) {
      // How far the host has scrolled past this frame's top: the "new updates" button sticks there.
      root.style.setProperty("--lt-sticky-top", `${Math.max(0, Math.round(data.top))}px`);
    }
  });
  post();
}
