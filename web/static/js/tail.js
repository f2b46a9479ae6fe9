/* The live tail: a WebSocket of matching events, newest on top, at most MAX_ROWS kept. */
"use strict";

(() => {
  const MAX_ROWS = 500;
  const body = document.getElementById("tail-body");
  const state = document.getElementById("tail-state");
  const count = document.getElementById("tail-count");
  const dropped = document.getElementById("tail-dropped");
  const errorBox = document.getElementById("tail-error");
  const pauseButton = document.getElementById("pause");
  const input = document.getElementById("q");
  const searchThis = document.getElementById("search-this");
  let socket = null;
  let paused = false;
  let shown = 0;
  let retry = null;

  function setState(text) {
    state.textContent = text;
    document.body.dataset.tail = text;
  }

  function connect() {
    if (retry) { clearTimeout(retry); retry = null; }
    if (socket) { socket.onclose = null; socket.close(); }
    const q = input.value;
    searchThis.href = `/search?${new URLSearchParams({ q, range: "15m" })}`;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/tail/ws?${new URLSearchParams({ q })}`);
    setState("connecting…");
    errorBox.hidden = true;
    socket.onmessage = (msg) => {
      const data = JSON.parse(msg.data);
      if (data.type === "ready") {
        setState(paused ? "paused" : "live");
        if (paused) socket.send(JSON.stringify({ type: "pause" }));
      } else if (data.type === "events") {
        for (const doc of data.events) body.insertBefore(LW.eventRow(doc), body.firstChild);
        shown += data.events.length;
        while (body.rows.length > MAX_ROWS) body.deleteRow(body.rows.length - 1);
        count.textContent = String(shown);
      } else if (data.type === "stats") {
        dropped.textContent = String(data.dropped);
      } else if (data.type === "error") {
        errorBox.textContent = data.message;
        errorBox.hidden = false;
        setState("stopped");
      }
    };
    socket.onclose = () => {
      if (state.textContent === "stopped") return;
      setState("reconnecting…");
      retry = setTimeout(connect, 2000);
    };
  }

  document.getElementById("tail-form").addEventListener("submit", (e) => {
    e.preventDefault();
    history.replaceState(null, "", `/tail?${new URLSearchParams({ q: input.value })}`);
    connect();
  });
  pauseButton.addEventListener("click", () => {
    paused = !paused;
    pauseButton.textContent = paused ? "Resume" : "Pause";
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: paused ? "pause" : "resume" }));
      setState(paused ? "paused" : "live");
    }
  });
  document.getElementById("clear").addEventListener("click", () => {
    body.replaceChildren();
    shown = 0;
    count.textContent = "0";
  });
  connect();
})();
