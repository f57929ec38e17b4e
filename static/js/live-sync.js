// Live avatars (docs/live-sync.md), wired by the [data-live-sync] element in base.html.
//
// One tab per browser holds the /events stream, elected with a Web Lock, and relays every event
// to the other tabs over a BroadcastChannel: ten tabs take one of the browser's six HTTP/1.1
// connections, not ten. In every tab the event reaches <body> as htmx's SSE extension sends it,
// so each avatar with hx-trigger="avatar-42 from:body" refetches itself, at its own size.
//
// The stream carries only the members the browser's tabs show: each tab tells the leader the
// members on its page (watching the page as htmx swaps cards in), and the leader keeps the
// stream following their union: in the stream's URL for every (re)connect, and with
// POST /events/subscriptions while it is open. A member a tab adds is checked once the stream
// says it follows them (what changed before that, the stream could not carry).
(() => {
  const root = document.querySelector("[data-live-sync]");
  if (!root || !window.htmx) return;
  const LOCK = "profile-picture-sync";
  const POLL_MS = 30000; // while no stream is up: one sync request per tab this often
  const MAX_MEMBERS = Number(root.dataset.liveMembersMax) || 500; // EVENTS_MEMBERS_PER_STREAM
  const TAB = Math.random().toString(36).slice(2) + Date.now().toString(36);
  const relay = window.BroadcastChannel ? new BroadcastChannel(LOCK) : null;
  let leader = false;
  let lastEventId = ""; // the newest id this tab has heard of, from its stream or the leader
  let pollTimer = null;
  let hiddenSince = 0;
  // This tab: the members its page shows, those not yet known to be followed (member -> the
  // report that first named them), and how many reports it has made.
  let shown = new Set();
  const pending = new Map();
  let reports = 0;
  // The leader: every tab's report (tab -> {members, k, url, post}: the URL set and the POST
  // that first carried them), the stream's id, and the sets asked for, each numbered.
  const tabs = new Map();
  let stream = "";
  let seq = 0;
  let urlSeq = 0, urlKey = null, postSeq = 0, postKey = null, inForce = null;
  let posting = false, postAgain = false;
  let connectCtx = null, connection = null;

  function log(...args) {
    try {
      if (localStorage.getItem("profilePictureDebug") === "true") console.log("[profile-picture-sync]", ...args);
    } catch { /* storage blocked: no log */ }
  }

  // Every message, whoever received it. `dispatch`: the stream's extension did not dispatch it.
  function deliver({ event, data, id }, dispatch, source) {
    if (id) lastEventId = id;
    log(source, event, id ? `id ${id}` : "", data || "");
    if (source === "stream" && (event === "sync-ready" || event === "subscribed")) heardSet(event, JSON.parse(data));
    if (event === "sync-ready") setLive(true);
    if (event === "resync") syncAvatars();
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

  // One request for the page's avatars (`only`: of these members): 304 when all are current.
  async function syncAvatars(only) {
    const versions = {};
    for (const el of document.querySelectorAll("[data-user-id][data-avatar-version]")) {
      if (only && !only.has(Number(el.dataset.userId))) continue;
      const version = Number(el.dataset.avatarVersion);
      versions[el.dataset.userId] = Math.min(version, versions[el.dataset.userId] ?? version);
    }
    const avatars = Object.entries(versions).map(([user, version]) => `${user}:${version}`).join(",");
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
    if (root.dataset.state === state) return;
    root.dataset.state = state;
    log("stream", state);
    clearInterval(pollTimer);
    pollTimer = live ? null : setInterval(syncAvatars, POLL_MS);
  }

  // --- What this tab shows, told to the leader ---

  function recount(all) {
    const now = new Set();
    for (const el of document.querySelectorAll("[data-user-id][data-avatar-version]")) now.add(Number(el.dataset.userId));
    const added = [...now].filter((member) => all || !shown.has(member));
    if (!added.length && now.size === shown.size) return;
    shown = now;
    reports += 1;
    for (const member of added) if (!pending.has(member)) pending.set(member, reports);
    report({ tab: TAB, members: [...now], k: reports });
  }

  function report(message) {
    if (leader) heardReport(message);
    else relay?.postMessage({ report: message });
  }

  // Once the stream follows what report k named: check the avatars added up to it.
  function confirmed(k) {
    const due = new Set();
    for (const [member, first] of pending) if (first <= k) due.add(member);
    for (const member of due) pending.delete(member);
    if (due.size) syncAvatars(due);
  }

  let recountSoon = false;
  new MutationObserver(() => {
    if (recountSoon) return;
    recountSoon = true;
    setTimeout(() => { recountSoon = false; recount(false); });
  }).observe(document.body, { childList: true, subtree: true });

  // --- The leader: the union of the reports, in the stream's URL and its subscriptions ---

  function heardReport({ tab, members, k }) {
    tabs.delete(tab); // re-inserted last: past the ceiling, the newest reports win
    if (members.length) tabs.set(tab, { members, k, url: null, post: null, done: false });
    updateUrl();
    subscribeSoon();
  }

  function union() {
    const members = new Set();
    for (const { members: theirs } of [...tabs.values()].reverse()) {
      for (const member of theirs) if (members.size < MAX_MEMBERS) members.add(member);
    }
    return [...members].sort((a, b) => a - b);
  }

  // The extension fetches ctx.request.action on every reconnect: it always names the union.
  function updateUrl() {
    const members = union().join(",");
    if (members !== urlKey) {
      urlKey = members;
      urlSeq = ++seq;
    }
    for (const entry of tabs.values()) entry.url ??= urlSeq;
    if (!connectCtx) return;
    const url = new URL(root.getAttribute("hx-sse:connect"), location.href);
    url.searchParams.set("members", members);
    url.searchParams.set("seq", urlSeq);
    connectCtx.request.action = url.pathname + url.search;
  }

  function subscribeSoon() {
    if (!stream || posting) {
      postAgain = posting;
      return;
    }
    const members = union();
    const key = members.join(",");
    // A POST is outstanding until the stream says its set is in force, not when it is answered:
    // the answer and the stream's word travel on two connections.
    const outstanding = postKey !== null && postSeq > (inForce?.seq ?? 0);
    if (!outstanding && key === inForce?.key) return confirm(inForce.seq, "post", true);
    if (!outstanding || key !== postKey) {
      postKey = key;
      postSeq = ++seq;
      post(stream, postSeq, members);
    }
    for (const entry of tabs.values()) entry.post ??= postSeq;
  }

  async function post(id, number, members) {
    posting = true;
    try {
      const response = await fetch(root.dataset.liveSubscribe, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ stream: id, seq: number, members }),
      });
      log("subscriptions", response.status, `seq ${number}`);
      // Not held here, and no process could be told: the stream comes back with the set.
      if (!response.ok && id === stream) reconnect();
    } catch (error) {
      log("subscriptions failed", error);
      if (id === stream) reconnect();
    } finally {
      posting = false;
      if (postAgain) {
        postAgain = false;
        subscribeSoon();
      }
    }
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers:inherited"))["x-csrftoken"];
    } catch {
      return "";
    }
  }

  function reconnect() {
    stream = "";
    connection?.reader?.cancel(); // the extension reconnects, with the URL above
  }

  // The stream says which set is in force: its URL's (sync-ready) or a POST's (subscribed).
  function heardSet(event, data) {
    if (event === "sync-ready") {
      stream = data.stream || "";
      postKey = null;
      inForce = data.seq === urlSeq ? { seq: data.seq, key: urlKey } : null;
      for (const entry of tabs.values()) entry.post = null; // asked of a stream now gone
      confirm(data.seq ?? 0, "url", false);
      subscribeSoon();
    } else {
      if (data.seq === postSeq) inForce = { seq: postSeq, key: postKey };
      confirm(data.seq, "post", false);
    }
  }

  function confirm(number, by, all) {
    for (const [tab, entry] of tabs) {
      if (entry.done || !(all || (entry[by] !== null && entry[by] <= number))) continue;
      entry.done = true;
      if (tab === TAB) confirmed(entry.k);
      else relay?.postMessage({ confirm: { tab, k: entry.k } });
    }
  }

  // --- The leader's stream, through htmx's SSE extension (hx-sse:connect on the element) ---

  root.addEventListener("htmx:config:request", (e) => {
    if (e.target !== root) return;
    connectCtx = e.detail.ctx;
    updateUrl();
    if (lastEventId) connectCtx.request.headers["Last-Event-ID"] = lastEventId;
  });
  root.addEventListener("htmx:sse:after:connection", (e) => {
    connection = e.detail.connection;
  });
  root.addEventListener("htmx:sse:before:message", (e) => {
    relay?.postMessage({ message: e.detail.message });
    deliver(e.detail.message, false, "stream");
  });
  for (const down of ["htmx:sse:before:connection", "htmx:sse:error", "htmx:sse:close"]) {
    root.addEventListener(down, () => {
      stream = "";
      setLive(false);
    });
  }

  // The others: the leader's messages and the stream's state; the leader: the others' reports.
  relay?.addEventListener("message", ({ data }) => {
    if (leader) {
      if (data.hello) relay.postMessage({ state: root.dataset.state, id: lastEventId });
      if (data.report) heardReport(data.report);
    } else if (data.message) {
      deliver(data.message, true, "relayed");
    } else if (data.confirm) {
      if (data.confirm.tab === TAB) confirmed(data.confirm.k);
    } else if (data.roll) {
      recount(true); // a new stream: everything this tab shows is checked once it follows them
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
    recount(true);
    relay?.postMessage({ roll: true }); // the other tabs tell this one what they show
    htmx.trigger(root, "live-sync-lead"); // the element's hx-trigger: connect
    return new Promise(() => {}); // keep the lock while the page lives; the next tab takes over
  }

  function follow() {
    root.dataset.role = "follower";
    relay.postMessage({ hello: true }); // the leader answers with the stream's state
    recount(true);
    syncAvatars(); // what changed since the server rendered this page
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
    else if (hiddenSince && Date.now() - hiddenSince > POLL_MS) syncAvatars();
  });
  // A page left (or put in the back/forward cache) shows nothing; one restored shows it again.
  window.addEventListener("pagehide", () => leader || relay?.postMessage({ report: { tab: TAB, members: [], k: reports } }));
  window.addEventListener("pageshow", (e) => {
    if (!e.persisted) return;
    syncAvatars();
    recount(true);
  });

  window.ProfilePictureSync = { syncOnPageLoad: () => syncAvatars() };
  // After htmx has processed the page (its own DOMContentLoaded listener runs first), in a task
  // of its own: in htmx's, the two made one long task that blocked a phone's input for 100 ms
  // (Lighthouse's total blocking time on /profile), each alone well under it.
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => setTimeout(start));
  else setTimeout(start);
})();
