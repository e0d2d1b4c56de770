// varuh console: progressive enhancement only; every page works without it.
// Breach clocks count down in place: a <time data-countdown datetime="…">
// shows the hours and minutes left (or how long ago it was due).
"use strict";
(function () {
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("datetime"));
      if (isNaN(due)) { return; }
      var left = Math.round((due - now) / 60000);
      var sign = left < 0 ? "-" : "";
      var m = Math.abs(left);
      var text = sign + Math.floor(m / 60) + " h " + (m % 60) + " min";
      if (!el.dataset.shown) { el.dataset.shown = el.textContent; }
      el.textContent = el.dataset.shown + " (" + text + ")";
    });
  }
  // The session ends on the server after the policy's idle minutes without
  // a request; an open page then goes to the sign-in form, which says so.
  function idleTimer() {
    var minutes = parseInt(document.body.getAttribute("data-idle-minutes") || "0", 10);
    if (minutes > 0) {
      setTimeout(function () { window.location.assign("/console/sign-in?ended=1"); }, minutes * 60000 + 2000);
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 30000);
    idleTimer();
  });
})();
