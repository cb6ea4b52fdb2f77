/* The operations page follows close of day as it runs, without a reload per tick.

   It polls GET /api/v1/operations/job-runs/ (the newest business dates first; the web
   session authenticates a GET, no token needed): every 2 s while a run on the page is
   running, every 30 s otherwise so a night that starts after the page opened is noticed.
   A running run's bar, chunk count and elapsed time are updated in place; when a run's
   status changes or a new run appears, the page reloads once, so the rows, the row counts
   and the last closed day come from the server rendered in the page's language. */
(function () {
  "use strict";

  var BUSY_MS = 2000;
  var IDLE_MS = 30000;
  var table = document.querySelector("table.jobruns[data-poll-url]");
  if (!table || !window.fetch) { return; }
  var live = document.getElementById("ops-live");

  /* Keep in step with the `duration` filter of riskdesk/core/templatetags/desk.py. */
  function formatDuration(ms) {
    if (ms < 1000) { return Math.round(ms) + " ms"; }
    if (ms < 59950) { return (ms / 1000).toFixed(1) + " s"; }
    var seconds = Math.round(ms / 1000);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    if (seconds < 3600) { return Math.floor(seconds / 60) + " min " + pad(seconds % 60) + " s"; }
    return Math.floor(seconds / 3600) + " h " + pad(Math.floor((seconds % 3600) / 60)) + " min";
  }

  function rowOf(runId) {
    return table.querySelector("tr[data-run='" + runId + "']");
  }

  function anyRunning() {
    return table.querySelector("tr[data-status='running']") !== null;
  }

  function drawProgress(row, run) {
    var bar = row.querySelector(".progress-bar");
    var text = row.querySelector(".progress-text");
    var share = run.chunks_total ? run.chunks_done / run.chunks_total : 0;
    if (bar) { bar.style.width = Math.round(share * 100) + "%"; }
    if (text) { text.textContent = run.chunks_done + "/" + run.chunks_total; }
    var cell = row.querySelector(".duration");
    if (cell && run.started_at) {
      cell.textContent = formatDuration(Date.now() - new Date(run.started_at).getTime());
    }
  }

  /* The newest business date on the page ("" when none): a run of that date or later the page
     does not show is news; older ones past the page's last date are not. */
  var newestShown = (function () {
    var first = table.querySelector("tr[data-run] td.date");
    return first ? first.textContent.trim() : "";
  })();

  /* True when the page no longer shows what the server has: then a reload, not a patch. */
  function stale(runs) {
    return runs.some(function (run) {
      var row = rowOf(run.id);
      if (row) { return row.dataset.status !== run.status; }
      return !newestShown || run.business_date >= newestShown;
    });
  }

  function poll() {
    fetch(table.dataset.pollUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("job runs: HTTP " + response.status); }
        return response.json();
      })
      .then(function (page) {
        var runs = page.results || [];
        if (stale(runs)) {
          window.location.reload();
          return;
        }
        runs.forEach(function (run) {
          if (run.status === "running") { drawProgress(rowOf(run.id), run); }
        });
        schedule();
      })
      .catch(function () {
        // Signed out or the server is away: stop rather than hammer it; a reload starts again.
        if (live) { live.hidden = true; }
      });
  }

  function schedule() {
    var busy = anyRunning();
    if (live) { live.hidden = !busy; }
    window.setTimeout(poll, busy ? BUSY_MS : IDLE_MS);
  }

  schedule();
})();
