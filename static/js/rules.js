// Category rules page: live preview of the rule being typed, and re-categorisation progress.
// The preview is an HTML fragment the server rendered (and escaped); job status is JSON.
(function () {
  "use strict";
  var form = document.getElementById("rule-form");
  var out = document.getElementById("rule-preview");
  var timer = null, seq = 0;
  function preview() {
    var body = new FormData(form), mine = ++seq;
    if (!String(body.get("pattern") || "").length) { out.textContent = ""; return; }
    fetch(form.dataset.previewUrl, {method: "POST", body: body, credentials: "same-origin",
      headers: {"X-Requested-With": "fetch"}})
      .then(function (r) { return r.text(); })
      .then(function (html) { if (mine === seq) { out.innerHTML = html; } })  // server-escaped fragment
      .catch(function () {});
  }
  if (form && out && window.fetch) {
    form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(preview, 300); });
    form.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(preview, 100); });
  }
  var job = document.getElementById("job-status");
  function poll() {
    fetch(job.dataset.url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (j) {
      if (!j.status) { return; }
      job.dataset.state = j.status;
      if (j.status === "done") {
        job.textContent = "✓ Done: " + (j.changed === null ? "?" : j.changed) + " of " + (j.results === null ? "?" : j.results) + " results changed category.";
      } else if (j.status === "failed") {
        job.textContent = "✕ Failed: " + j.error;
      } else {
        job.textContent = (j.status === "running" ? "⟳ Running…" : "… Queued");
        setTimeout(poll, 2000);
      }
    }).catch(function () { setTimeout(poll, 5000); });
  }
  if (job && window.fetch && (job.dataset.state === "queued" || job.dataset.state === "running")) { setTimeout(poll, 1500); }
})();
