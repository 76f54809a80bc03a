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
  new ResizeObserver(post).observe(root);
  // The host's script may start after our first heights were posted: it asks again (embed-host.js).
  addEventListener("message", (event) => {
    if (event.source !== window.parent || event.data?.type !== "live-timeline:measure") return;
    sent = -1;
    post();
  });
  post();
}
