// Group reset progress: poll the job's status row until it finishes, then reload for the print buttons.
(function () {
  "use strict";
  var job = document.getElementById("job");
  if (!job || job.dataset.finished === "1") { return; }
  function poll() {
    fetch(job.dataset.statusUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        job.querySelector(".js-status").textContent = state.status_label;
        job.querySelector(".js-done").textContent = state.done;
        job.querySelector(".js-progress").value = state.done;
        if (state.finished) { window.location.reload(); } else { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 500);
})();
