/* CCHC.Stats counter widget. Embed with one line:
 *   <script async src="https://stats.example.gov.vn/widget.js" data-site="bacgiang"></script>
 * Options: data-lang="en" (default Vietnamese), data-metric="pageViews" (default visits),
 * data-track="false" (show only, record no view), data-theme="dark" | "light" (default: the reader's setting),
 * data-group="…" (show a group's figures: a province's sites together; the view is still recorded on data-site, if given).
 * On the same page it also fills every element with data-cchc="page-views" with this page's all-time views ("Lượt xem"),
 * and an element with data-cchc="top-pages" with the most-read list (its data-period, default week; data-limit, default
 * 10) when the site publishes it. No cookie, nothing loaded from third parties; styles live in a shadow root and leave the page's alone. */
(function () {
  var script = document.currentScript;
  if (!script || !(script.getAttribute("data-site") || script.getAttribute("data-group"))) return;
  var origin = new URL(script.src, location.href).origin;
  var site = script.getAttribute("data-site");
  var group = script.getAttribute("data-group");
  // A site's calls (the view, its pages); the box shows the group's figures when data-group is given.
  var api = site ? origin + "/api/v1/sites/" + encodeURIComponent(site) : null;
  var counters = group ? origin + "/api/v1/groups/" + encodeURIComponent(group) + "/counters" : api + "/counters";
  var en = script.getAttribute("data-lang") === "en";
  var metric = script.getAttribute("data-metric") === "pageViews" ? "pageViews" : "visits";
  var text = en
    ? { title: metric === "visits" ? "Visits" : "Page views", online: "Online now", day: "Today", week: "This week", month: "This month", year: "This year", total: "All time" }
    : { title: metric === "visits" ? "Số lượng truy cập" : "Số lượt xem", online: "Đang truy cập", day: "Tổng số trong ngày", week: "Tổng số trong tuần", month: "Tổng số trong tháng", year: "Tổng số trong năm", total: "Tổng số truy cập" };
  var format = new Intl.NumberFormat(en ? "en-US" : "vi-VN");

  var host = document.createElement("div");
  host.className = "cchc-stats";
  var theme = script.getAttribute("data-theme");
  if (theme) host.setAttribute("data-theme", theme);
  script.parentNode.insertBefore(host, script.nextSibling);
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    "<style>" +
    ":host{display:block;font-size:1em;--bg:#fff;--fg:#1f2937;--line:#d6dde6;--head:#a31d24;--head-fg:#fff}" +
    ":host([data-theme=dark]){--bg:#1b1f24;--fg:#e6e9ee;--line:#3a414b;--head:#7a1a1f;--head-fg:#fff}" +
    "@media (prefers-color-scheme:dark){:host(:not([data-theme=light])){--bg:#1b1f24;--fg:#e6e9ee;--line:#3a414b;--head:#7a1a1f}}" +
    ".box{background:var(--bg);color:var(--fg);border:1px solid var(--line);border-radius:4px;overflow:hidden;font:inherit;line-height:1.5}" +
    "h2{margin:0;padding:.4em .8em;background:var(--head);color:var(--head-fg);font-size:1em;font-weight:600}" +
    "dl{margin:0;padding:.3em .8em}div.row{display:flex;justify-content:space-between;gap:1em;padding:.2em 0;border-bottom:1px dotted var(--line)}" +
    "div.row:last-child{border-bottom:0}dt{margin:0}dd{margin:0;font-weight:600;font-variant-numeric:tabular-nums}" +
    "</style><section class=box part=box><h2></h2><dl></dl></section>";
  root.querySelector("h2").textContent = text.title;
  var rows = {};
  ["online", "day", "week", "month", "year", "total"].forEach(function (key) {
    var row = document.createElement("div");
    row.className = "row";
    row.setAttribute("data-period", key);
    row.innerHTML = "<dt></dt><dd>–</dd>";
    row.firstChild.textContent = text[key];
    root.querySelector("dl").appendChild(row);
    rows[key] = row.lastChild;
  });

  function show(counters) {
    rows.online.textContent = format.format(counters.online);
    ["day", "week", "month", "year", "total"].forEach(function (key) {
      rows[key].textContent = format.format(counters[key][metric]);
    });
  }

  // fresh: ask past the browser's cache (figures are cacheable for a few seconds), revalidating by ETag.
  function refresh(fresh) {
    fetch(counters, { credentials: "omit", cache: fresh === true ? "no-cache" : "default" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (c) { if (c) show(c); })
      .catch(function () {});
  }

  var tracked = !!site && script.getAttribute("data-track") !== "false";
  var pageViews = site ? document.querySelectorAll('[data-cchc="page-views"]') : [];
  var shownViews = 0;

  // This page's views. Right after the beacon the pipeline has not counted this view yet (it takes about a second):
  // the first figure adds it, and a figure never goes back, so a later one that already holds it shows the same.
  function refreshPage(fresh, first) {
    if (!pageViews.length) return;
    fetch(api + "/pages/views?url=" + encodeURIComponent(location.href), { credentials: "omit", cache: fresh === true ? "no-cache" : "default" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (!p) return;
        shownViews = Math.max(shownViews, p.total.pageViews + (first && tracked ? 1 : 0));
        pageViews.forEach(function (el) { el.textContent = format.format(shownViews); });
      })
      .catch(function () {});
  }

  // The most-read list, as links on this site; titles are set as text, never as markup.
  (site ? document.querySelectorAll('[data-cchc="top-pages"]') : []).forEach(function (el) {
    var query = "?period=" + encodeURIComponent(el.getAttribute("data-period") || "week") + "&limit=" + encodeURIComponent(el.getAttribute("data-limit") || "10");
    fetch(api + "/pages/top" + query, { credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (top) {
        if (!top) return;
        var list = document.createElement("ol");
        list.className = "cchc-top-pages";
        top.pages.forEach(function (p) {
          var item = document.createElement("li");
          var link = document.createElement("a");
          link.href = location.origin + p.page;
          link.textContent = p.title || p.page;
          var views = document.createElement("span");
          views.className = "cchc-views";
          views.textContent = " (" + format.format(p.pageViews) + ")";
          item.appendChild(link);
          item.appendChild(views);
          list.appendChild(item);
        });
        el.replaceChildren(list);
      })
      .catch(function () {});
  });

  if (tracked) {
    // text/plain keeps the beacon a simple request: no CORS preflight.
    var body = JSON.stringify({ url: location.href, referrer: document.referrer || null, title: document.title || null });
    var sent = navigator.sendBeacon && navigator.sendBeacon(api + "/views", new Blob([body], { type: "text/plain" }));
    if (!sent) {
      fetch(api + "/views", { method: "POST", body: body, keepalive: true, credentials: "omit", headers: { "Content-Type": "text/plain" } }).catch(function () {});
    }
    // The view needs a moment to reach the counters; show what is there now, then again shortly — from the
    // service, not from the cached figures of the first fetch, or the visitor would not see the view counted.
    setTimeout(function () { refresh(true); refreshPage(true); }, 3000);
  }

  refresh();
  refreshPage(false, true);
  setInterval(function () { refresh(); refreshPage(); }, 30000);
})();
