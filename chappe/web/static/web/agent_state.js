// The agent's live state on the workspace (issue 15): the badge and the time in the state,
// read again every few seconds — the calls change it, and so do the engine (an agent whose
// browser is gone is paused) and supervisors, not only this page's buttons.
(() => {
  const box = document.getElementById("my-state");
  if (!box) return;
  const badge = document.getElementById("my-state-badge");
  const reason = document.getElementById("my-state-reason");
  const clock = document.getElementById("my-state-clock");
  const form = document.getElementById("my-state-form");
  let since = Date.now() - 1000 * parseInt(clock.dataset.seconds || "0", 10);

  function duration(seconds) {
    const h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
    const two = (n) => String(n).padStart(2, "0");
    return h ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
  }
  function tick() {
    clock.textContent = box.dataset.msgFor.replace("%(time)s",
      duration(Math.max(0, Math.floor((Date.now() - since) / 1000))));
  }
  function show(now) {
    const span = document.createElement("span");
    span.className = "badge badge-" + now.style;
    span.dataset.status = now.state;
    span.textContent = now.label;
    badge.replaceChildren(span);
    reason.textContent = now.pause_reason ? " · " + now.pause_reason : "";
    since = Date.now() - 1000 * now.seconds;
    if (form) {  // the buttons that make sense from this state
      for (const part of form.querySelectorAll("[data-states]")) {
        part.hidden = !part.dataset.states.split(" ").includes(now.state);
      }
    }
    tick();
  }
  async function poll() {
    try {
      const response = await fetch(box.dataset.url, { headers: { Accept: "application/json" },
                                                      cache: "no-store" });
      if (response.ok) show(await response.json());
    } catch (error) { /* offline: the softphone says so; read again later */ }
  }
  tick();
  setInterval(tick, 1000);
  setInterval(poll, 2000);
})();
