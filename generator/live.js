// Broadsheet's live preview, injected by `broadsheet serve` into the pages it serves
// (never into output/). It listens to the server's build events: after a good build it
// reloads the page, or only swaps the stylesheets when nothing but CSS changed; while
// a build has errors it shows them in an overlay, and pages still reload for changes
// made meanwhile (a build with errors writes the pages it can). A build that says which
// files it changed (`pages`) reloads only the pages among them. Error text is set with
// textContent only, never parsed as HTML.
(() => {
  "use strict";
  if (window.__broadsheetLive) return;
  // Its state, for tests and the curious: connected to the server, and which build.
  const state = { connected: false, build: null };
  window.__broadsheetLive = state;

  const OVERLAY_ID = "broadsheet-overlay";
  const script = document.currentScript;
  // The build this page was served from; a page served just before a build finished
  // reloads as soon as it hears of the newer one.
  let current = (script && script.dataset.build) || null;
  // This page's file in the output folder ("" when the server could not tell).
  const file = (script && script.dataset.file) || "";
  // Whether the last build this page heard of had errors, and whether a build it did
  // not reload for changed the output.
  let erred = false;
  let missed = false;

  function hideOverlay() {
    const overlay = document.getElementById(OVERLAY_ID);
    if (overlay) overlay.remove();
  }

  function element(tag, text, style) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    Object.assign(node.style, style || {});
    return node;
  }

  function showOverlay(errors) {
    hideOverlay();
    const overlay = element("div", undefined, {
      position: "fixed", inset: "auto 0 0 0", zIndex: "2147483647", maxHeight: "60vh",
      overflow: "auto", margin: "0", padding: "16px 20px", boxSizing: "border-box",
      background: "#2b0b0b", color: "#fff", borderTop: "4px solid #e5484d",
      font: "14px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
      boxShadow: "0 -4px 24px rgba(0, 0, 0, 0.4)", textAlign: "left",
    });
    overlay.id = OVERLAY_ID;
    overlay.setAttribute("role", "alert");
    const count = errors.length === 1 ? "1 error" : `${errors.length} errors`;
    const heading = element("strong", `Broadsheet: the build has ${count}`, {
      display: "block", fontSize: "15px", color: "#ffb4b4",
    });
    const note = element(
      "p", "The preview shows the last good build. Fix the file and save; this goes away.",
      { margin: "4px 0 8px", color: "#ddd" },
    );
    const list = element("ul", undefined, { margin: "0", padding: "0 0 0 20px" });
    for (const text of errors) {
      list.append(element("li", String(text), { whiteSpace: "pre-wrap", wordBreak: "break-word" }));
    }
    const close = element("button", "Dismiss", {
      position: "absolute", top: "12px", right: "16px", font: "inherit", cursor: "pointer",
    });
    close.type = "button";
    close.addEventListener("click", hideOverlay);
    overlay.append(heading, note, list, close);
    (document.body || document.documentElement).append(overlay);
  }

  function swapStylesheets() {
    const stamp = String(Date.now());
    for (const link of document.querySelectorAll('link[rel~="stylesheet"]')) {
      const url = new URL(link.href, location.href);
      if (url.origin !== location.origin) continue;
      url.searchParams.set("__broadsheet", stamp);
      const fresh = link.cloneNode();
      fresh.href = url.href;
      // Keep the old sheet until the new one has loaded, so nothing flashes unstyled.
      fresh.addEventListener("load", () => link.remove(), { once: true });
      fresh.addEventListener("error", () => fresh.remove(), { once: true });
      link.after(fresh);
    }
  }

  function onStatus(event) {
    const status = JSON.parse(event.data);
    const first = !state.connected;
    state.connected = true;
    state.build = status.build;
    if (status.errors.length) showOverlay(status.errors);
    else hideOverlay();
    const changed = current !== null && status.build !== current;
    current = status.build;
    const breaking = status.errors.length > 0 && !erred;
    erred = status.errors.length > 0;
    if (!changed) return;
    // A build that names the files it changed, none of them this page's, leaves this
    // page as it was: it shows nothing else that changed.
    const mine = !Array.isArray(status.pages) || !file || status.pages.includes(file);
    if (breaking) {
      // The build that broke a file leaves this page as it is, under the overlay; what
      // that build wrote shows with the next one. While the error stands, builds of
      // other changes reload pages as good builds do.
      missed = missed || first || (status.reload !== "none" && mine);
      return;
    }
    if (first || missed || (status.reload === "page" && mine)) {
      missed = false; // this page may be several builds old
      location.reload();
    } else if (status.reload === "css") swapStylesheets();
  }

  const source = new EventSource("/__broadsheet/events");
  source.addEventListener("status", onStatus);
  // After a reconnection (the server restarted), the first event is compared afresh.
  source.addEventListener("error", () => { state.connected = false; });
  window.addEventListener("pagehide", () => source.close());
})();
