// soundstage studio: the only script. Pages work without it; it follows long tasks live.
(function () {
  "use strict";
  var box = document.querySelector("[data-task]");
  if (!box) { return; }
  var state = box.getAttribute("data-state");
  if (state !== "queued" && state !== "running") { return; }
  var id = box.getAttribute("data-task");
  var bar = document.getElementById("task-progress");
  var message = document.getElementById("task-message");
  function poll() {
    fetch("/tasks/" + encodeURIComponent(id) + ".json", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (t) {
        bar.value = t.progress;
        message.textContent = t.message || t.state;
        if (t.state === "done") { window.location.assign(t.done_url); }
        else if (t.state === "failed") { window.location.reload(); }
        else { window.setTimeout(poll, 700); }
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 400);
})();
