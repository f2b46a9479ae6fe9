/* Shared helpers of the logwarden pages. Data from logs is attacker-controlled: it only
   ever reaches the DOM through textContent (never innerHTML). */
"use strict";

const LW = (() => {
  const LEVEL_COLORS = {
    fatal: "#7b1fa2", error: "#d32f2f", warn: "#f9a825", info: "#1976d2",
    debug: "#607d8b", trace: "#90a4ae", unspecified: "#bdbdbd",
  };
  const PALETTE = ["#1976d2", "#388e3c", "#f57c00", "#7b1fa2", "#c2185b", "#0097a7",
                   "#5d4037", "#455a64", "#afb42b", "#e64a19"];

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function clockTime(ms) {
    const d = new Date(ms);
    const pad = (n) => String(n).padStart(2, "0");
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function metaText(doc) {
    const parts = [];
    const http = doc && typeof doc.http === "object" && doc.http ? doc.http : null;
    if (http && (http.method || http.status)) {
      let text = [http.method, http.route || http.path, http.status].filter((v) => v !== undefined && v !== null).join(" ");
      if (typeof http.duration_ms === "number") text += ` ${Math.round(http.duration_ms)}ms`;
      parts.push(text);
    }
    if (doc.host) parts.push(`host=${doc.host}`);
    if (doc.trace_id) parts.push(`trace=${doc.trace_id}`);
    return parts.join(" ");
  }

  function eventRow(doc) {
    const level = String(doc.severity_text || "unspecified").toLowerCase();
    const row = el("tr", null, `lvl-${level.replace(/[^a-z]/g, "")}`);
    row.appendChild(el("td", doc.ts, "ts"));
    row.appendChild(el("td", doc.service));
    row.appendChild(el("td", doc.severity_text, "lvl"));
    row.appendChild(el("td", doc.message, "msg"));
    row.appendChild(el("td", metaText(doc), "meta"));
    return row;
  }

  function replaceRows(tbody, rows, emptyText, columns) {
    tbody.replaceChildren();
    if (!rows.length) {
      const row = el("tr", null, "empty");
      const cell = el("td", emptyText);
      cell.colSpan = columns;
      row.appendChild(cell);
      tbody.appendChild(row);
      return;
    }
    rows.forEach((r) => tbody.appendChild(r));
  }

  function timeAxis() {
    return { type: "linear", ticks: { maxTicksLimit: 8, callback: (v) => clockTime(v) } };
  }

  function readJson(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  const chartsReady = typeof window.Chart !== "undefined";
  if (chartsReady) {
    window.Chart.defaults.animation = false;
    window.Chart.defaults.maintainAspectRatio = false;
  }

  function upsertChart(id, config) {
    const canvas = document.getElementById(id);
    if (!canvas || !chartsReady) return null;
    const existing = window.Chart.getChart(canvas);
    if (existing) {
      existing.data = config.data;
      existing.update("none");
      return existing;
    }
    return new window.Chart(canvas, config);
  }

  return { LEVEL_COLORS, PALETTE, el, clockTime, metaText, eventRow, replaceRows,
           timeAxis, readJson, upsertChart };
})();
