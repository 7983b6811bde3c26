// Live updates of a vehicle's dashboard (the app's only script; the page works
// without it, by reload).
//
// The page names its stream in #vehicle's data-live-url: Server-Sent Events that say
// "changed" when the vehicle's stored data changes. On each, this fetches the page again
// and swaps its tiles (#signals) and history (#history) in place, so that scroll
// position, focus and anything typed in the forms stay. Changes that arrive during a
// fetch are coalesced into one more fetch. After a reconnection the page is fetched
// once, for what changed while the stream was down.
(function () {
  "use strict";
  var root = document.getElementById("vehicle");
  var url = root && root.getAttribute("data-live-url");
  if (!url || !window.EventSource || !window.fetch || !window.DOMParser) {
    return;
  }
  var status = document.getElementById("live-status");
  var parts = ["signals", "history"];
  var busy = false, again = false, opened = false, updates = 0;

  function show(state, text) {
    root.setAttribute("data-live", state);
    if (status) {
      status.hidden = false;
      status.className = "live-status small live-" + state;
      status.textContent = text;
    }
  }

  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.getElementById("vehicle");
    if (!fresh || fresh.getAttribute("data-vehicle-id") !== root.getAttribute("data-vehicle-id")) {
      // Not this dashboard any more (signed out, disconnected): stop following.
      stop("Not live: reload the page");
      return;
    }
    var active = document.activeElement && document.activeElement.id;
    var x = window.scrollX, y = window.scrollY;
    parts.forEach(function (id) {
      var now = document.getElementById(id), next = doc.getElementById(id);
      if (now && next) {
        now.replaceWith(document.importNode(next, true));
      }
    });
    if (active) {
      var el = document.getElementById(active);
      if (el && el !== document.activeElement) {
        el.focus({ preventScroll: true });
      }
    }
    window.scrollTo(x, y);
    updates++;
    root.setAttribute("data-live-updates", String(updates));
    show("on", "Live: updated " + new Date().toLocaleTimeString());
  }

  function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store", headers: { Accept: "text/html", "X-Live-Refresh": "1" } })
      .then(function (resp) {
        // An error page (a vehicle asleep, say) keeps what is shown; the next change tries again.
        return resp.ok ? resp.text().then(swap) : null;
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  var es = new EventSource(url);
  function stop(text) {
    es.close();
    show("off", text);
  }
  es.addEventListener("open", function () {
    if (opened) {
      refresh();
    }
    opened = true;
    show("on", "Live");
  });
  es.addEventListener("changed", refresh);
  es.addEventListener("gone", function () {
    stop("Not live: reload the page");
  });
  es.addEventListener("error", function () {
    if (es.readyState === EventSource.CLOSED) {
      show("off", "Not live: reload the page");
    } else {
      show("connecting", "Reconnecting…");
    }
  });
})();
