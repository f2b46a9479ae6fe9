/* The overview: charts from the page's embedded data, then a refresh every refresh_s. */
"use strict";

(() => {
  const points = (ts, values) => ts.map((t, i) => ({ x: t, y: values[i] }));

  function draw(data) {
    const t = data.timeline.t;
    LW.upsertChart("chart-timeline", {
      type: "bar",
      data: { datasets: [
        { label: "events", data: points(t, data.timeline.events), backgroundColor: "#1976d2", stack: "s" },
        { label: "errors", data: points(t, data.timeline.errors), backgroundColor: "#d32f2f", stack: "e" },
      ] },
      options: { parsing: true, scales: { x: LW.timeAxis() } },
    });
    const levels = Object.keys(data.levels);
    const levelData = { labels: levels, datasets: [{ label: "events", data: levels.map((k) => data.levels[k]),
      backgroundColor: levels.map((k) => LW.LEVEL_COLORS[k] || "#999") }] };
    LW.upsertChart("chart-levels", { type: "doughnut", data: levelData });
    LW.upsertChart("chart-level-bars", { type: "bar", data: JSON.parse(JSON.stringify(levelData)),
      options: { plugins: { legend: { display: false } } } });
    LW.upsertChart("chart-services", {
      type: "bar",
      data: { labels: data.services.map((s) => s[0]), datasets: [
        { label: "events", data: data.services.map((s) => s[1]), backgroundColor: "#1976d2" },
        { label: "errors", data: data.services.map((s) => s[2]), backgroundColor: "#d32f2f" },
      ] },
      options: { indexAxis: "y" },
    });
    const classes = Object.keys(data.status);
    LW.upsertChart("chart-status", {
      type: "bar",
      data: { labels: classes, datasets: [{ label: "responses", data: classes.map((k) => data.status[k]),
        backgroundColor: classes.map((k) => ({ "2xx": "#388e3c", "3xx": "#0097a7", "4xx": "#f9a825", "5xx": "#d32f2f" }[k] || "#999")) }] },
      options: { plugins: { legend: { display: false } } },
    });
    LW.upsertChart("chart-rpm", {
      type: "line",
      data: { datasets: [{ label: "requests/min", data: points(t, data.requests_per_minute),
        borderColor: "#388e3c", pointRadius: 0 }] },
      options: { scales: { x: LW.timeAxis() } },
    });
    const codes = data.codes || { "404": [], "500": [] };
    const curve = (pairs) => pairs.map((p) => ({ x: p[0], y: p[1] }));
    LW.upsertChart("chart-codes", {
      type: "line",
      data: { datasets: [
        { label: "404", data: curve(codes["404"]), borderColor: "#f9a825", pointRadius: 0 },
        { label: "500", data: curve(codes["500"]), borderColor: "#d32f2f", pointRadius: 0 },
      ] },
      options: { scales: { x: LW.timeAxis() } },
    });
  }

  function topRows(pairs) {
    return pairs.map((p) => {
      const row = LW.el("tr");
      row.appendChild(LW.el("td", p[0]));
      row.appendChild(LW.el("td", p[1], "num"));
      return row;
    });
  }

  function fill(data) {
    const k = data.kpis;
    document.getElementById("kpi-events").textContent = String(k.events);
    document.getElementById("kpi-errors").textContent = String(k.errors);
    document.getElementById("kpi-error-rate").textContent = `${(k.error_rate * 100).toFixed(2)} %`;
    document.getElementById("kpi-p95").textContent = k.p95_ms === null ? "–" : `${Math.round(k.p95_ms)} ms`;
    document.getElementById("source").textContent = data.source;
    document.getElementById("updated").textContent = data.generated_at;
    LW.replaceRows(document.querySelector("#top-routes tbody"), topRows(data.top_routes), "–", 2);
    LW.replaceRows(document.querySelector("#top-clients tbody"), topRows(data.top_clients), "–", 2);
    LW.replaceRows(document.querySelector("#latest tbody"), data.latest.map(LW.eventRow),
                   "no events in this range", 5);
    const box = document.getElementById("problems");
    box.replaceChildren(...data.problems.map((p) => LW.el("p", p)));
    box.hidden = data.problems.length === 0;
  }

  let data = LW.readJson("overview-data");
  if (!data) return;
  draw(data);
  document.getElementById("range").addEventListener("change", (e) => e.target.form.submit());

  async function refresh() {
    try {
      const response = await fetch(`/api/v1/overview?range=${encodeURIComponent(data.range)}`,
                                   { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      data = await response.json();
      fill(data);
      draw(data);
      document.body.dataset.refreshed = String((Number(document.body.dataset.refreshed) || 0) + 1);
    } catch (err) {
      const box = document.getElementById("problems");
      box.replaceChildren(LW.el("p", `refresh failed: ${err.message}`));
      box.hidden = false;
    }
  }
  setInterval(refresh, Math.max(1, data.refresh_s) * 1000);
})();
