// The feed: one full-height video at a time; swipe, wheel, arrow keys or j/k move along.
// Signed out it shows /trending; signed in /recommendations/{user_id}. After a like or a skip
// the upcoming videos are re-ranked (the server counts the action in its very next answer),
// and the toast says only what those next videos deliver.

import { api } from "./api.js";
import { currentUser } from "./session.js";
import { h, icon, tagHue, toast } from "./ui.js";

const PAGE = 10;
const PREFETCH_WHEN_LEFT = 3; // load more when this few items are left ahead
const MIN_VIEW_MS = 300; // a flick past a video is not a view
const WHEEL_THRESHOLD = 40;
const NAV_COOLDOWN_MS = 450;
const UPCOMING = 5; // what a toast may promise about: the next this many videos

export function mountFeed(container) {
  const user = currentUser();
  const items = []; // what the feed will show, in order
  const queued = new Set(); // ids in `items`
  let index = -1;
  let exhausted = false;
  let busy = 0;
  let muted = true;
  let lastNav = 0;
  let watch = null; // {videoId, startedAt, accumulated}
  const liked = new Set();

  const stage = h("div", { class: "stage" });
  const status = h("p", { class: "feed-status", role: "status", "aria-live": "polite" });
  const prevBtn = h("button", {
    type: "button", class: "nav-btn prev", "aria-label": "Previous video", onclick: () => go(-1),
  }, icon("up"));
  const nextBtn = h("button", {
    type: "button", class: "nav-btn next", "aria-label": "Next video", onclick: () => go(1),
  }, icon("down"));
  const root = h("section", {
    class: "feed",
    "aria-label": user ? `Your feed, ${user.name}` : "Trending videos",
    dataset: { mode: user ? "personal" : "trending", busy: "0", index: "-1" },
  }, stage, h("div", { class: "feed-nav" }, prevBtn, nextBtn), status);
  container.append(root);

  const setBusy = (delta) => {
    busy += delta;
    root.dataset.busy = String(busy);
  };

  // --- loading pages ------------------------------------------------------------------------

  // Ask for as many as are queued plus a page: the server drops what the user already acted
  // on, but not what was only shown, so the rest are new.
  async function fetchCandidates(n) {
    const size = Math.min(100, n);
    return user ? api.recommendations(user.user_id, size) : api.trending(size);
  }

  /** Append unseen items. With `replaceUpcoming`, drop what is queued after the current one. */
  async function load({ replaceUpcoming = false } = {}) {
    setBusy(1);
    try {
      const shownSoFar = Math.max(0, index + 1);
      const fresh = await fetchCandidates((replaceUpcoming ? shownSoFar : queued.size) + PAGE);
      if (replaceUpcoming) {
        for (const dropped of items.splice(index + 1)) queued.delete(dropped.video_id);
      }
      let added = 0;
      for (const item of fresh) {
        if (queued.has(item.video_id)) continue;
        queued.add(item.video_id);
        items.push(item);
        added += 1;
      }
      exhausted = added === 0 && !replaceUpcoming;
      if (index < 0 && items.length) show(0, 0);
      else if (index >= 0 && index < items.length && stage.querySelector(".end")) show(index, 1);
      else if (!items.length) renderEmpty();
      updateNav();
    } catch (err) {
      status.textContent = `Could not load videos (${err.message}).`;
      if (!items.length) renderEmpty(true);
    } finally {
      setBusy(-1);
    }
  }

  function maybeLoadMore() {
    if (!exhausted && items.length - index - 1 <= PREFETCH_WHEN_LEFT) load();
  }

  // --- watching -----------------------------------------------------------------------------

  function watchedMs() {
    if (!watch) return 0;
    const running = watch.startedAt == null ? 0 : performance.now() - watch.startedAt;
    return watch.accumulated + running;
  }

  function pauseClock() {
    if (watch && watch.startedAt != null) {
      watch.accumulated += performance.now() - watch.startedAt;
      watch.startedAt = null;
    }
  }

  function resumeClock() {
    if (watch && watch.startedAt == null && !document.hidden) watch.startedAt = performance.now();
  }

  /** Close the current watch; send a view unless `as` says otherwise ("skip" or "none").
   *  Returns the request's promise when one was sent (a failure is toasted here). */
  function leave(as = "view", opts) {
    if (!watch) return null;
    const ms = watchedMs();
    const videoId = watch.videoId;
    watch = null;
    if (!user || as === "none") return null;
    if (as === "view" && ms < MIN_VIEW_MS) return null;
    const sent = api.action(user.user_id, videoId, as, ms, opts);
    sent.catch((err) => toast(`Could not send ${as}: ${err.message}`));
    return sent;
  }

  /** The next videos after the one on screen: what a toast may speak about. */
  function upcoming() {
    return items.slice(index + 1, index + 1 + UPCOMING);
  }

  /** The toast after a like: "more #tag" only if the next videos carry that tag. */
  function likedMessage(item) {
    const next = upcoming();
    const counts = item.tags.map((t) => next.filter((v) => v.tags.includes(t)).length);
    const best = counts.indexOf(Math.max(0, ...counts));
    if (best >= 0 && counts[best] > 0) return `Liked — more #${item.tags[best]} coming up`;
    if (item.creator_id && next.some((v) => v.creator_id === item.creator_id)) {
      return "Liked — more from this creator coming up";
    }
    return "Liked — saved to your likes";
  }

  /** The toast after a skip: "no #tag" only if none of the next videos carries it. */
  function skippedMessage(item) {
    const next = upcoming();
    const gone = item.tags.filter((t) => !next.some((v) => v.tags.includes(t)));
    return gone.length ? `Skipped — no #${gone[0]} in your next videos` : "Skipped";
  }

  // --- rendering ----------------------------------------------------------------------------

  function renderSlide(item) {
    const mainTag = item.tags[0] || "video";
    const hue = tagHue(mainTag);
    const video = h("video", {
      class: "player",
      src: item.url,
      muted: true,
      autoplay: true,
      loop: true,
      playsinline: true,
      preload: "auto",
      "aria-label": `Video: ${item.title}`,
    });
    video.muted = muted;
    const slide = h("article", {
      class: "slide",
      "aria-roledescription": "video",
      "aria-label": item.title,
      dataset: { videoId: item.video_id, tags: item.tags.join(" "), state: "loading" },
      style: `--hue: ${hue}`,
    },
      h("div", { class: "card", "aria-hidden": "true" },
        h("span", { class: "card-tag" }, `#${mainTag}`),
        h("span", { class: "card-title" }, item.title),
        h("span", { class: "card-note" }, "Video unavailable"),
      ),
      video,
      h("div", { class: "meta" },
        h("h2", { class: "title" }, item.title),
        h("ul", { class: "tags", "aria-label": "Tags" },
          item.tags.map((t) => h("li", { style: `--hue: ${tagHue(t)}` }, `#${t}`))),
        h("p", { class: "reason" }, item.reason),
      ),
      h("div", { class: "actions" },
        likeButton(item),
        h("button", {
          type: "button", class: "act skip", "aria-label": `Skip: ${item.title}`,
          onclick: () => skip(),
        }, h("span", { class: "icon" }, icon("skip")), h("span", {}, "Skip")),
        h("button", {
          type: "button", class: "act mute", "aria-label": muted ? "Unmute" : "Mute",
          "aria-pressed": String(!muted), onclick: (e) => toggleMute(e.currentTarget),
        }, h("span", { class: "icon" }, icon(muted ? "muted" : "sound")),
        h("span", {}, muted ? "Sound off" : "Sound on")),
      ),
    );
    const broken = () => {
      slide.dataset.state = "broken";
      video.removeAttribute("src");
      video.hidden = true;
    };
    video.addEventListener("error", broken);
    video.addEventListener("playing", () => {
      if (slide.dataset.state !== "broken") slide.dataset.state = "playing";
    });
    if (!item.url) broken();
    return slide;
  }

  function likeButton(item) {
    const on = liked.has(item.video_id);
    return h("button", {
      type: "button", class: "act like", "aria-pressed": String(on),
      "aria-label": `${on ? "Liked" : "Like"}: ${item.title}`, onclick: (e) => like(e.currentTarget),
    }, h("span", { class: "icon" }, icon("heart")), h("span", {}, on ? "Liked" : "Like"));
  }

  function show(i, direction) {
    const item = items[i];
    if (!item) return;
    index = i;
    root.dataset.index = String(i);
    const slide = renderSlide(item);
    if (direction) slide.classList.add(direction > 0 ? "enter-up" : "enter-down");
    stage.replaceChildren(slide);
    const video = slide.querySelector("video");
    if (video && !video.hidden) video.play().catch(() => {});
    watch = { videoId: item.video_id, startedAt: null, accumulated: 0 };
    resumeClock();
    status.textContent = `Video ${i + 1}: ${item.title}`;
    updateNav();
    maybeLoadMore();
  }

  function renderEmpty(failed = false) {
    stage.replaceChildren(
      h("div", { class: "empty" },
        h("p", {}, failed ? "The feed could not be loaded." : "No videos yet."),
        h("button", { type: "button", onclick: () => load(), "aria-label": "Try again" }, "Try again"),
      ),
    );
  }

  function renderEnd() {
    leave("view");
    index = items.length;
    root.dataset.index = String(index);
    stage.replaceChildren(
      h("div", { class: "empty end" },
        h("p", {}, "You're all caught up."),
        h("button", {
          type: "button", "aria-label": "Look for more videos",
          onclick: () => { exhausted = false; load().then(() => items[index] && show(index, 1)); },
        }, "Look for more"),
      ),
    );
    updateNav();
  }

  function updateNav() {
    prevBtn.disabled = index <= 0;
    nextBtn.disabled = index >= items.length;
  }

  // --- actions ------------------------------------------------------------------------------

  /** Move by `step`; returns the request of the action sent for the video left, if any. */
  function go(step, { as = "view" } = {}) {
    const target = index + step;
    if (target < 0) return null;
    lastNav = performance.now();
    let sent = null;
    if (target >= items.length) {
      if (index < items.length) {
        if (as === "skip") sent = leave("skip");
        renderEnd();
      }
      maybeLoadMore();
      return sent;
    }
    sent = leave(as);
    show(target, step);
    return sent;
  }

  async function skip() {
    const item = items[index];
    if (!user || !item) {
      go(1);
      return;
    }
    setBusy(1);
    try {
      const sent = go(1, { as: "skip" }); // the next video at once
      try {
        await sent; // accepted: the server's next answer counts it
      } catch {
        return; // leave() said so
      }
      await load({ replaceUpcoming: true }); // the videos after it follow the skip
      toast(skippedMessage(item));
    } finally {
      setBusy(-1);
    }
  }

  async function like(button) {
    const item = items[index];
    if (!item) return;
    if (!user) {
      toast("Sign in to like videos and get your own feed.");
      location.hash = "#/signin";
      return;
    }
    if (liked.has(item.video_id)) return;
    liked.add(item.video_id);
    button.replaceWith(likeButton(item));
    stage.querySelector(".like")?.focus();
    setBusy(1);
    try {
      await api.action(user.user_id, item.video_id, "like", watchedMs());
      await load({ replaceUpcoming: true }); // the next videos follow what was just liked
      toast(likedMessage(item));
    } catch (err) {
      liked.delete(item.video_id);
      toast(`Could not like: ${err.message}`);
    } finally {
      setBusy(-1);
    }
  }

  function toggleMute(button) {
    muted = !muted;
    const video = stage.querySelector("video");
    if (video) video.muted = muted;
    button.setAttribute("aria-label", muted ? "Unmute" : "Mute");
    button.setAttribute("aria-pressed", String(!muted));
    button.querySelector(".icon").replaceChildren(icon(muted ? "muted" : "sound"));
    button.lastElementChild.textContent = muted ? "Sound off" : "Sound on";
  }

  // --- input --------------------------------------------------------------------------------

  function onKey(e) {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.target instanceof HTMLElement && e.target.closest("input, textarea, select")) return;
    const key = e.key;
    if (key === "ArrowDown" || key === "j" || key === "PageDown") go(1);
    else if (key === "ArrowUp" || key === "k" || key === "PageUp") go(-1);
    else if (key === "l") stage.querySelector(".like")?.click();
    else if (key === "m") stage.querySelector(".mute")?.click();
    else return;
    e.preventDefault();
  }

  function onWheel(e) {
    e.preventDefault();
    if (Math.abs(e.deltaY) < WHEEL_THRESHOLD) return;
    if (performance.now() - lastNav < NAV_COOLDOWN_MS) return;
    go(e.deltaY > 0 ? 1 : -1);
  }

  let touchY = null;
  const onTouchStart = (e) => { touchY = e.touches[0].clientY; };
  const onTouchEnd = (e) => {
    if (touchY == null) return;
    const dy = e.changedTouches[0].clientY - touchY;
    touchY = null;
    if (Math.abs(dy) > 50) go(dy < 0 ? 1 : -1);
  };

  const onVisibility = () => (document.hidden ? pauseClock() : resumeClock());
  const onPageHide = () => leave("view", { keepalive: true });

  document.addEventListener("keydown", onKey);
  root.addEventListener("wheel", onWheel, { passive: false });
  root.addEventListener("touchstart", onTouchStart, { passive: true });
  root.addEventListener("touchend", onTouchEnd, { passive: true });
  document.addEventListener("visibilitychange", onVisibility);
  window.addEventListener("pagehide", onPageHide);

  load();

  return () => {
    leave("view", { keepalive: true });
    document.removeEventListener("keydown", onKey);
    document.removeEventListener("visibilitychange", onVisibility);
    window.removeEventListener("pagehide", onPageHide);
    root.remove();
  };
}
