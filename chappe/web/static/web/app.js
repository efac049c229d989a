// Small progressive enhancements; every page works without them.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.querySelector(button.dataset.copy);
  if (!field) return;
  field.select();
  const done = () => {
    const label = button.textContent;
    button.textContent = button.dataset.copiedLabel || label;
    setTimeout(() => { button.textContent = label; }, 2000);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, () => {});
  } else if (document.execCommand && document.execCommand("copy")) {
    done();
  }
});

document.addEventListener("focusin", (event) => {
  if (event.target.matches("[data-select-on-focus]")) event.target.select();
});

// Submit the language switcher as soon as a language is chosen.
document.addEventListener("change", (event) => {
  if (event.target.id === "language-select") event.target.form.submit();
});
for (const button of document.querySelectorAll(".langswitch button")) button.hidden = true;

// Call-flow editor: show the text or the recording field of a prompt as its source says,
// and "Listen" plays a text-to-speech prompt as callers will hear it.
document.addEventListener("change", (event) => {
  if (!event.target.matches("[data-prompt-source]")) return;
  event.target.closest(".prompt").dataset.source = event.target.value || "none";
});

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-listen]");
  const player = document.getElementById("listen-player");
  if (!button || !player) return;
  const base = button.dataset.listen;
  const text = document.getElementById(`${base}-text`).value.trim();
  if (!text) return;
  const query = new URLSearchParams({
    text, language: document.getElementById(`${base}-language`).value,
  });
  player.src = `${player.dataset.listenUrl}?${query}`;
  player.play().catch(() => {});
});
