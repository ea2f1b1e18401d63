/* The one wrapper around the vendored Chart.js (static/vendor/chartjs/).
 *
 * A chart is a <canvas data-chart="ID"> next to <script type="application/json" id="ID">
 * holding {kind: "line"|"bar", labels: [...], unit: "count"|"seconds",
 * series: [{name, values}]}. A sparkline is a <canvas data-sparkline="ID"> with the same
 * data: no axes, no legend. Once drawn, the canvas carries data-points (how many values
 * it shows), which the browser tests read. */
(function () {
  "use strict";

  var PALETTE = ["#2563eb", "#0f766e", "#dc2626", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d"];

  function readData(id) {
    var node = document.getElementById(id);
    if (!node) { return null; }
    try { return JSON.parse(node.textContent); } catch (e) { return null; }
  }

  function datasets(data, spark) {
    return data.series.map(function (serie, index) {
      var colour = PALETTE[index % PALETTE.length];
      return {
        label: serie.name,
        data: serie.values,
        borderColor: colour,
        backgroundColor: data.kind === "bar" ? colour : colour + "22",
        borderWidth: spark ? 1.5 : 2,
        pointRadius: spark ? 0 : 2,
        tension: 0.25,
        fill: spark
      };
    });
  }

  function countPoints(data) {
    return data.series.reduce(function (sum, serie) {
      return sum + serie.values.filter(function (v) { return v !== null; }).length;
    }, 0);
  }

  function draw(canvas, data, spark) {
    var stacked = data.kind === "bar" && data.series.length > 1 && data.labels.length > 7;
    var options = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: !spark && data.series.length > 1 }, tooltip: { enabled: !spark } },
      scales: spark ? { x: { display: false }, y: { display: false, beginAtZero: true } } : {
        x: { stacked: stacked, ticks: { maxRotation: 0, autoSkip: true } },
        y: { stacked: stacked, beginAtZero: true, title: { display: data.unit === "seconds", text: "seconds" } }
      }
    };
    new window.Chart(canvas, { type: data.kind === "bar" ? "bar" : "line", data: { labels: data.labels, datasets: datasets(data, spark) }, options: options });
    canvas.dataset.points = String(countPoints(data));
  }

  function drawAll() {
    if (!window.Chart) { return; }
    document.querySelectorAll("canvas[data-chart], canvas[data-sparkline]").forEach(function (canvas) {
      if (canvas.dataset.points) { return; }
      var spark = canvas.hasAttribute("data-sparkline");
      var data = readData(spark ? canvas.dataset.sparkline : canvas.dataset.chart);
      if (data) { draw(canvas, data, spark); }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
