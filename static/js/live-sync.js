// Live avatars (docs/live-sync.md), wired by the [data-live-sync] element in base.html.
//
// One tab per browser holds the /events stream, elected with a Web Lock, and relays every event
// to the other tabs over a BroadcastChannel: ten tabs take one of the browser's six HTTP/1.1
// connections, not ten. In every tab the event reaches <body> as htmx's SSE extension sends it,
// so each avatar with hx-trigger="avatar-42 from:body" refetches itself, at its own size.
(() => {
  const root = document.querySelector("[data-live-sync]");
  if (!root || !window.htmx) return;
  const LOCK = "profile-picture-sync";
  const POLL_MS = 30000; // while no stream is up: one sync request per tab this often
  const relay = window.BroadcastChannel ? new BroadcastChannel(LOCK) : null;
  let leader = false;
  let lastEventId = ""; // the newest id this tab has heard of, from its stream or the leader
  let syncWhenReady = false; // a stream opened without Last-Event-ID replays nothing
  let pollTimer = null;
  let hiddenSince = 0;

  function log(...args) {
    try {
      if (localStorage.getItem("profilePictureDebug") === "true") console.log("[profile-picture-sync]", ...args);
    } catch { /* storage blocked: no log */ }
  }

  // Every message, whoever received it. `dispatch`: the stream's extension did not dispatch it.
  function deliver({ event, data, id }, dispatch, source) {
    if (id) lastEventId = id;
    log(source, event, id ? `id ${id}` : "", data || "");
    if (event === "sync-ready") setLive(true);
    if (event === "resync") syncOnPageLoad();
    // The member's own token list listens for tokens-N (hx-trigger="tokens-N from:body").
    if (event.startsWith("tokens-") && dispatch) htmx.trigger(root, event, { data, id });
    if (!event.startsWith("avatar-")) return;
    const { userId, version } = JSON.parse(data);
    document.dispatchEvent(new CustomEvent("profilePictureUpdated", { detail: { userId, version } }));
    if (dispatch) htmx.trigger(root, event, { data, id });
  }

  // An avatar already at the event's version stays (the tab that made the change swapped it);
  // the others ask for that version, a URL the browser's cache then serves to its other tabs.
  document.addEventListener("htmx:config:request", (e) => {
    const avatar = e.target;
    const ctx = e.detail.ctx;
    const data = ctx.sourceEvent?.type?.startsWith("avatar-") && ctx.sourceEvent.detail?.data;
    if (!data || !avatar.matches("[data-avatar-version]")) return;
    const { version } = JSON.parse(data);
    if (Number(avatar.dataset.avatarVersion) >= version) return e.preventDefault();
    const url = new URL(ctx.request.action, location.href);
    url.searchParams.set("v", version);
    ctx.request.action = url.pathname + url.search;
  });

  // One request for every avatar on the page: 304 when all are current.
  async function syncOnPageLoad() {
    const shown = {};
    for (const el of document.querySelectorAll("[data-user-id][data-avatar-version]")) {
      const version = Number(el.dataset.avatarVersion);
      shown[el.dataset.userId] = Math.min(version, shown[el.dataset.userId] ?? version);
    }
    const avatars = Object.entries(shown).map(([user, version]) => `${user}:${version}`).join(",");
    if (!avatars) return;
    try {
      const response = await fetch(`${root.dataset.liveSync}?avatars=${avatars}`, { cache: "no-store" });
      log("sync", response.status);
      if (response.status !== 200) return;
      for (const { userId, version } of (await response.json()).changes) {
        deliver({ event: `avatar-${userId}`, data: JSON.stringify({ userId, version }) }, true, "sync");
      }
    } catch (error) {
      log("sync failed", error);
    }
  }

  function setLive(live) {
    const state = live ? "live" : "down";
    if (leader) relay?.postMessage({ state });
    // Before the early return: a new leader may already show "live", relayed by the old one.
    if (live && syncWhenReady) {
      syncWhenReady = false;
      syncOnPageLoad();
    }
    if (root.dataset.state === state) return;
    root.dataset.state = state;
    log("stream", state);
    clearInterval(pollTimer);
    pollTimer = live ? null : setInterval(syncOnPageLoad, POLL_MS);
  }

  // The leader: its stream, through htmx's SSE extension (hx-sse:connect on the element).
  root.addEventListener("htmx:config:request", (e) => {
    if (e.target !== root) return;
    if (lastEventId) e.detail.ctx.request.headers["Last-Event-ID"] = lastEventId;
    syncWhenReady = !lastEventId;
  });
  root.addEventListener("htmx:sse:before:message", (e) => {
    relay?.postMessage({ message: e.detail.message });
    deliver(e.detail.message, false, "stream");
  });
  for (const down of ["htmx:sse:before:connection", "htmx:sse:error", "htmx:sse:close"]) {
    root.addEventListener(down, () => setLive(false));
  }

  // The others: the leader's messages and the stream's state.
  relay?.addEventListener("message", ({ data }) => {
    if (leader) {
      if (data.hello) relay.postMessage({ state: root.dataset.state, id: lastEventId });
    } else if (data.message) {
      deliver(data.message, true, "relayed");
    } else if (data.state) {
      if (data.id) lastEventId = data.id; // so a follower that takes over replays from there
      setLive(data.state === "live");
    }
  });

  function lead() {
    leader = true;
    root.dataset.role = "leader";
    setLive(false); // until this tab's own stream is up (it showed the old leader's state)
    log("this tab holds the stream");
    htmx.trigger(root, "live-sync-lead"); // the element's hx-trigger: connect
    return new Promise(() => {}); // keep the lock while the page lives; the next tab takes over
  }

  function follow() {
    root.dataset.role = "follower";
    relay.postMessage({ hello: true }); // the leader answers with the stream's state
    syncOnPageLoad(); // what changed since the server rendered this page
  }

  function start() {
    if (!navigator.locks || !relay) return lead(); // nothing to share a stream with
    navigator.locks.request(LOCK, { ifAvailable: true }, (lock) => {
      if (lock) return lead();
      follow();
      navigator.locks.request(LOCK, lead); // next in line
    });
  }

  // A tab the browser froze in the background may have missed relayed events.
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) hiddenSince = Date.now();
    else if (hiddenSince && Date.now() - hiddenSince > POLL_MS) syncOnPageLoad();
  });
  window.addEventListener("pageshow", (e) => e.persisted && syncOnPageLoad());

  window.ProfilePictureSync = { syncOnPageLoad };
  // After htmx has processed the page (its own DOMContentLoaded listener runs first).
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else setTimeout(start);
})();
