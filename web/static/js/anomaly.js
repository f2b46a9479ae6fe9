/* The anomaly view: a metric per closed window, the spike baseline's band and the flagged
   windows; the threshold form refetches /api/v1/anomaly and redraws (no reload). */
"use strict";

(() => {
  const PARAMS = ["z", "baseline", "alpha", "history", "warm_up", "min_events", "direction",
                  "min_stddev", "relative_floor"];

  function series(points, pick) {
    return points.map((p) => ({ x: p.start * 1000, y: pick(p) }));
  }

  function draw(data) {
    const pts = data.points;
    LW.upsertChart("chart-anomaly", {
      type: "line",
      data: { datasets: [
        { label: "baseline + z·spread", data: series(pts, (p) => p.upper), borderColor: "#90caf9",
          backgroundColor: "rgba(144, 202, 249, 0.3)", pointRadius: 0, borderWidth: 1, fill: "+1" },
        { label: "baseline - z·spread", data: series(pts, (p) => p.lower), borderColor: "#90caf9",
          pointRadius: 0, borderWidth: 1, fill: false },
        { label: "baseline", data: series(pts, (p) => p.centre), borderColor: "#607d8b",
          borderDash: [4, 4], pointRadius: 0, borderWidth: 1, fill: false },
        { label: data.metric, data: series(pts, (p) => p.value), borderColor: "#1976d2",
          pointRadius: 1.5, borderWidth: 1.5, fill: false },
        { label: "flagged", data: pts.filter((p) => p.flagged).map((p) => ({ x: p.start * 1000, y: p.value })),
          borderColor: "#d32f2f", backgroundColor: "#d32f2f", pointRadius: 5, showLine: false },
      ] },
      options: { parsing: true, spanGaps: false, scales: { x: LW.timeAxis() },
                 plugins: { filler: { propagate: false } } },
    });
  }

  const fmt = (v) => (v === null || v === undefined ? "–" : Number(v).toPrecision(4));

  function fill(data) {
    document.getElementById("flagged-count").textContent = String(data.flagged);
    document.getElementById("window-count").textContent = String(data.windows);
    const rows = data.points.filter((p) => p.flagged).map((p) => {
      const row = LW.el("tr", null, "flagged-window");
      row.appendChild(LW.el("td", new Date(p.start * 1000).toISOString()));
      [p.value, p.centre, p.spread, p.z].forEach((v) => row.appendChild(LW.el("td", fmt(v), "num")));
      row.appendChild(LW.el("td", p.events, "num"));
      return row;
    });
    LW.replaceRows(document.querySelector("#flagged tbody"), rows, "no window flagged", 6);
    const box = document.getElementById("problems");
    box.replaceChildren();
    box.hidden = true;
    document.body.dataset.rendered = String((Number(document.body.dataset.rendered) || 0) + 1);
  }

  function showProblem(text) {
    const box = document.getElementById("problems");
    box.replaceChildren(LW.el("p", text));
    box.hidden = false;
  }

  let data = LW.readJson("anomaly-data");
  const rule = document.getElementById("rule");
  rule.addEventListener("change", () => {
    // a rule brings its own metric, window and parameters
    document.getElementById("metric").value = "";
    document.getElementById("size").value = "";
    rule.form.submit();
  });
  if (!data) return;
  draw(data);
  fill(data);

  let pending = null;
  let sequence = 0;
  async function refetch() {
    const query = new URLSearchParams({ service: data.service, metric: data.metric,
                                        size: String(data.size), from: data.from, to: data.to });
    if (data.rule) query.set("rule", data.rule);
    const form = document.getElementById("threshold");
    PARAMS.forEach((name) => {
      const value = form.elements[name].value;
      if (value !== "") query.set(name, value);
    });
    const mine = ++sequence;
    try {
      const response = await fetch(`/api/v1/anomaly?${query}`, {
        headers: { Accept: "application/json" }, credentials: "same-origin" });
      const body = await response.json();
      if (mine !== sequence) return; // a newer request answers
      if (!response.ok) {
        showProblem(body.detail || `HTTP ${response.status}`);
        return;
      }
      data = body;
      draw(data);
      fill(data);
    } catch (err) {
      showProblem(`update failed: ${err.message}`);
    }
  }

  const threshold = document.getElementById("threshold");
  threshold.addEventListener("submit", (e) => { e.preventDefault(); refetch(); });
  const later = () => { clearTimeout(pending); pending = setTimeout(refetch, 250); };
  threshold.addEventListener("input", later);
  threshold.addEventListener("change", later);
})();
