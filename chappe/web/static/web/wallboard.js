// The live wallboard (decision 0042): the server pushes a snapshot over server-sent events
// whenever the queue log or an agent's state moves; between two, the clocks count here.
(function () {
  "use strict";
  const root = document.getElementById("wallboard");
  if (!root || !window.EventSource) return;
  const states = JSON.parse(document.getElementById("wallboard-states").textContent);
  let board = null;
  let received = 0;

  function seconds(value) {
    if (value === null || value === undefined) return "";
    const s = value + Math.floor((Date.now() - received) / 1000);
    return s < 60 ? s + " s" : Math.floor(s / 60) + " min " + (s % 60) + " s";
  }

  function cell(text, field) {
    const td = document.createElement("td");
    if (field) td.dataset.field = field;
    td.textContent = text;
    return td;
  }

  function render() {
    if (!board) return;
    const queues = document.querySelector("#wallboard-queues tbody");
    queues.replaceChildren(...board.queues.map(function (q) {
      const tr = document.createElement("tr");
      tr.dataset.queue = q.id;
      const agents = Object.entries(q.agents).filter(([, n]) => n > 0)
        .map(([state, n]) => (states[state] || state) + " " + n).join(", ");
      tr.append(cell(q.name), cell(String(q.waiting), "waiting"),
        cell(q.waiting ? seconds(q.longest_wait) : "", "longest_wait"), cell(agents, "agents"),
        cell(String(q.offered), "offered"), cell(String(q.answered), "answered"),
        cell(String(q.abandoned), "abandoned"),
        cell(q.service_level === null ? "—" : (q.service_level * 100).toFixed(1) + " %",
          "service_level"));
      return tr;
    }));
    const agents = document.querySelector("#wallboard-agents tbody");
    agents.replaceChildren(...board.agents.map(function (a) {
      const tr = document.createElement("tr");
      tr.dataset.agent = a.id;
      tr.append(cell(a.extension + " " + a.name), cell(states[a.state] || a.state, "state"),
        cell(seconds(a.in_state), "in_state"),
        cell(a.call === null ? "" : seconds(a.call_seconds), "call"),
        cell(String(a.handled_today), "handled_today"));
      return tr;
    }));
  }

  const source = new EventSource(root.dataset.stream);
  source.addEventListener("snapshot", function (event) {
    board = JSON.parse(event.data);
    received = Date.now();
    root.dataset.updated = board.at;
    render();
  });
  setInterval(render, 1000);
})();
