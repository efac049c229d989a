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

  // Supervisors' buttons (decision 0047): force an agent's state, join their call.
  const actions = document.getElementById("wallboard-actions");
  const labels = actions ? JSON.parse(actions.textContent) : null;
  const csrf = document.getElementById("wallboard-csrf");

  function button(action, fields, text) {
    const form = document.createElement("form");
    form.method = "post";
    form.action = action;
    form.className = "inline-form";
    form.append(csrf.content.cloneNode(true));
    Object.entries(fields).forEach(function ([name, value]) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      form.append(input);
    });
    const submit = document.createElement("button");
    submit.type = "submit";
    submit.className = "btn btn-small";
    submit.dataset.action = fields.mode || fields.state;
    submit.textContent = text;
    form.append(submit);
    return form;
  }

  function actionsCell(a) {
    const td = cell("", "actions");
    if (a.state !== "logged_out") {
      const url = root.dataset.stateUrl.replace("00000000-0000-0000-0000-000000000000", a.id);
      if (a.state !== "paused") td.append(button(url, {state: "paused", back: "wallboard"},
        labels.pause));
      td.append(button(url, {state: "logged_out", back: "wallboard"}, labels.logged_out));
    }
    if (a.call) {
      const url = root.dataset.superviseUrl.replace("CALL", encodeURIComponent(a.call));
      ["listen", "whisper", "barge"].forEach(function (mode) {
        td.append(button(url, {mode: mode}, labels[mode]));
      });
    }
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
      if (labels) tr.append(actionsCell(a));
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
