/* A small inline-SVG line chart for a budget's burn: a cumulative series (and an optional
 * second one) against a cap, dates along the bottom. No chart library. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var W = 640, H = 240, M = { top: 16, right: 16, bottom: 28, left: 64 };

  function svg(tag, attrs, text) {
    var node = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function niceMax(value) {
    if (value <= 0) return 1;
    var power = Math.pow(10, Math.floor(Math.log10(value)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * power >= value) return steps[i] * power;
    return 10 * power;
  }

  /* Where the cap's label goes: above or below the cap line, at its right or left end,
   * wherever no series line runs through it (a budget at or just past its cap has its line
   * right where the label would sit). Boxes are in the chart's own units; the text's width
   * is estimated from its length (11px semibold). If every place is crossed, the one the
   * lines cross least; the label's white halo keeps it readable there. */
  var LABEL_HEIGHT = 11, CHAR_WIDTH = 6.6, GAP = 5;

  function lineSpan(points, x0, x1) {
    var low = Infinity, high = -Infinity;
    function take(v) { low = Math.min(low, v); high = Math.max(high, v); }
    for (var i = 0; i < points.length; i++) {
      var p = points[i], q = points[i + 1];
      if (p[0] >= x0 && p[0] <= x1) take(p[1]);
      if (!q) continue;
      [x0, x1].forEach(function (edge) {  // where the segment crosses the box's edges
        if ((p[0] - edge) * (q[0] - edge) < 0) take(p[1] + (q[1] - p[1]) * (edge - p[0]) / (q[0] - p[0]));
      });
    }
    if (points.length === 1 && points[0][0] <= x1) take(points[0][1]);  // a single day
    return low === Infinity ? null : [low, high];
  }

  function capLabelPlace(text, cy, lines) {
    var width = text.length * CHAR_WIDTH, left = M.left + 4, right = W - M.right;
    var top = M.top, bottom = H - M.bottom;
    var places = [
      { name: "right-above", x: right, anchor: "end", y: cy - GAP },
      { name: "right-below", x: right, anchor: "end", y: cy + GAP + LABEL_HEIGHT },
      { name: "left-above", x: left, anchor: "start", y: cy - GAP },
      { name: "left-below", x: left, anchor: "start", y: cy + GAP + LABEL_HEIGHT },
    ].filter(function (p) { return p.y - LABEL_HEIGHT >= top - 4 && p.y <= bottom - 2; });
    var best = null;
    places.forEach(function (place) {
      var x0 = place.anchor === "end" ? place.x - width : place.x, x1 = x0 + width;
      var y0 = place.y - LABEL_HEIGHT - 2, y1 = place.y + 3;
      var crossed = 0;
      lines.forEach(function (points) {
        var span = lineSpan(points, x0, x1);
        // A line is 2 units thick: a flat one through the box crosses it too.
        if (span) crossed += Math.max(0, Math.min(span[1] + 1.5, y1) - Math.max(span[0] - 1.5, y0));
      });
      if (!best || crossed < best.crossed) best = Object.assign({ crossed: crossed }, place);
    });
    return best || { name: "right-above", x: right, anchor: "end", y: cy - GAP };
  }

  /*
   * options: {title, dates: [iso], series: [{label, values: [number], secondary}],
   *           cap: number|null, capLabel, capText (the label in full; else capLabel and
   *           the cap formatted as the ticks are), format: number -> string, summary}
   */
  function lineChart(options) {
    var dates = options.dates, n = dates.length;
    var all = [];
    options.series.forEach(function (s) { all = all.concat(s.values); });
    var top = niceMax(Math.max.apply(null, all.concat([options.cap || 0, 0])) * 1.05);
    var plotW = W - M.left - M.right, plotH = H - M.top - M.bottom;
    var x = function (i) { return M.left + (n <= 1 ? 0 : (i / (n - 1)) * plotW); };
    var y = function (v) { return M.top + plotH - (v / top) * plotH; };

    var titleId = "chart-" + Math.random().toString(36).slice(2);
    var root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-labelledby": titleId + "-t " + titleId + "-d" });
    root.appendChild(svg("title", { id: titleId + "-t" }, options.title));
    root.appendChild(svg("desc", { id: titleId + "-d" }, options.summary));

    for (var g = 0; g <= 4; g++) {
      var value = (top / 4) * g, gy = y(value);
      root.appendChild(svg("line", { class: g === 0 ? "axis" : "grid", x1: M.left, x2: W - M.right, y1: gy, y2: gy }));
      root.appendChild(svg("text", { class: "tick", x: M.left - 8, y: gy + 4, "text-anchor": "end" }, options.format(value)));
    }
    var labels = Math.min(n, 5);
    for (var l = 0; l < labels; l++) {
      var index = labels === 1 ? 0 : Math.round((l / (labels - 1)) * (n - 1));
      root.appendChild(svg("text", {
        class: "tick", x: x(index), y: H - 8, "text-anchor": l === 0 ? "start" : l === labels - 1 ? "end" : "middle",
      }, W360.fmt.day(dates[index])));
    }
    options.series.forEach(function (s, i) {
      var points = s.values.map(function (v, j) { return x(j).toFixed(1) + "," + y(v).toFixed(1); });
      if (i === 0 && n > 0) {
        root.appendChild(svg("polygon", {
          class: "series-area",
          points: [x(0).toFixed(1) + "," + y(0)].concat(points, [x(n - 1).toFixed(1) + "," + y(0)]).join(" "),
        }));
      }
      root.appendChild(svg("polyline", { class: s.secondary ? "series-secondary" : "series", points: points.join(" ") }));
    });
    if (options.cap) {
      var cy = y(options.cap);
      root.appendChild(svg("line", { class: "cap-line", x1: M.left, x2: W - M.right, y1: cy, y2: cy }));
      var text = options.capText || (options.capLabel || "Cap") + " " + options.format(options.cap);
      var place = capLabelPlace(text, cy, options.series.map(function (s) {
        return s.values.map(function (v, j) { return [x(j), y(v)]; });
      }));
      root.appendChild(svg("text", {
        class: "cap-label", x: place.x, y: place.y, "text-anchor": place.anchor, "data-place": place.name,
      }, text));
    }

    var legend = W360.ui.h("div", { class: "legend", "aria-hidden": "true" });
    options.series.forEach(function (s) {
      legend.appendChild(W360.ui.h("span", null, W360.ui.h("i", { class: s.secondary ? "secondary" : "" }), s.label));
    });
    if (options.cap) legend.appendChild(W360.ui.h("span", null, W360.ui.h("i", { class: "cap" }), options.capLabel || "Cap"));
    var figure = W360.ui.h("figure", { class: "chart" }, W360.ui.h("figcaption", null, options.title));
    figure.appendChild(root);
    figure.appendChild(legend);
    return figure;
  }

  window.W360.charts = { lineChart: lineChart };
})();
