// Draw every Plotly figure embedded with json_script: <div class="chart" data-figure="ID">.
// The figure JSON is built on the server (dashboard/charts.py); no data is fetched here.
(function () {
  "use strict";
  var config = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

  function draw(el) {
    var source = document.getElementById(el.dataset.figure);
    if (!source || !window.Plotly) { return; }
    var fig = JSON.parse(source.textContent);
    // On a phone the horizontal legend wraps to one entry per line and would squeeze
    // the plot: give each legend line its own height.
    if (el.clientWidth < 600 && fig.data.length > 2 && fig.layout.showlegend !== false) {
      fig.layout.height = (fig.layout.height || 380) + 20 * fig.data.length;
    }
    window.Plotly.newPlot(el, fig.data, fig.layout, config).then(function () {
      el.dataset.drawn = "true";
    });
  }

  document.querySelectorAll("[data-figure]").forEach(draw);
})();
