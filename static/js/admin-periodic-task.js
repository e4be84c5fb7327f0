// Django admin, periodic task form (django_celery_beat): show the selected crontab in
// words under the crontab field. Moved out of the package's template so the page runs
// no inline script; the texts are set as text, never parsed as HTML.
(function () {
  "use strict";
  var $ = window.django && window.django.jQuery;
  var script = document.getElementById("periodic-task-overrides");
  var data = document.getElementById("readable-crontabs");
  if (!$ || !script || !data) { return; }
  var readable = JSON.parse(data.textContent);
  var help = script.dataset.crontabHelp || "";

  function update(words) {
    var box = $(".field-crontab .help").empty();
    box.append(document.createTextNode(help), document.createElement("br"),
      document.createTextNode("Translation: " + (words || "")));
  }

  $(function () {
    $(".field-crontab_translation").hide();
    $(".field-crontab").change(function () { update(readable[$("#id_crontab").val()]); });
  });
})();
