// Draw every Plotly figure embedded with json_script: <div class="chart" data-figure="ID">.
// The figure JSON is built on the server (dashboard/charts.py); no data is fetched here.
(function () {
  "use strict";
  var config = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

  function draw(el) {
    var source = document.getElementById(el.dataset.figure);
    if (!source || !window.Plotly) { return; }
    var fig = JSON.parse(source.textContent);
    window.Plotly.newPlot(el, fig.data, fig.layout, config).then(function () {
      el.dataset.drawn = "true";
    });
  }

  document.querySelectorAll("[data-figure]").forEach(draw);
})();
