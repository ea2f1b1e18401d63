// Candidate filters: choosing a job reloads the list with that job's stages (and forgets a
// stage the new job may not have). Loaded as a file: the CSP allows no inline script.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    if (!event.target.matches("[data-job-filter]")) return;
    var form = event.target.form;
    var stage = form.querySelector("select[name=stage]");
    if (stage) stage.value = "";
    form.submit();
  });
})();
