/* The search page: the hit histogram, and the time-range picker submits on change. */
"use strict";

(() => {
  const hist = LW.readJson("hits-data");
  if (hist) {
    LW.upsertChart("chart-hits", {
      type: "bar",
      data: { datasets: [{ label: "hits", data: hist.t.map((t, i) => ({ x: t, y: hist.n[i] })),
        backgroundColor: "#1976d2" }] },
      options: { scales: { x: LW.timeAxis() }, plugins: { legend: { display: false } } },
    });
  }
  const range = document.getElementById("range");
  if (range) range.addEventListener("change", () => { if (range.value) range.form.submit(); });
})();
