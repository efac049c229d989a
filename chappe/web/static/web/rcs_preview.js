// The RCS composer's live preview: the content JSON drawn as a phone shows it (a text
// bubble, a rich card, a carousel of cards with their suggestion chips), redrawn at
// every keystroke. The server validates the content; this only shows it.
(function () {
  "use strict";
  var area = document.getElementById("id_content");
  var screen = document.getElementById("rcs-preview");
  var problem = document.getElementById("rcs-preview-error");
  if (!area || !screen) { return; }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text) { node.textContent = text; }
    return node;
  }

  function chips(list) {
    var row = el("div", "rcs-chips");
    (list || []).forEach(function (s) { row.appendChild(el("span", "rcs-chip", s.text || "")); });
    return row;
  }

  function card(c, orientation) {
    var box = el("div", "rcs-card rcs-" + (orientation || "vertical"));
    if (c.media && c.media.file_url) {
      var media = el("div", "rcs-media rcs-media-" + (c.media.height || "medium"));
      media.textContent = "🖼";
      box.appendChild(media);
    }
    if (c.title) { box.appendChild(el("strong", "rcs-title", c.title)); }
    if (c.description) { box.appendChild(el("p", "rcs-description", c.description)); }
    box.appendChild(chips(c.suggestions));
    return box;
  }

  function draw() {
    screen.textContent = "";
    var content;
    try { content = JSON.parse(area.value); } catch (e) {
      problem.hidden = false;
      problem.textContent = e.message;
      return;
    }
    problem.hidden = true;
    if (content.type === "text") { screen.appendChild(el("div", "rcs-bubble", content.text)); }
    if (content.type === "media") { screen.appendChild(card({media: content.media})); }
    if (content.type === "card") { screen.appendChild(card(content.card || {}, content.orientation)); }
    if (content.type === "carousel") {
      var strip = el("div", "rcs-carousel");
      (content.cards || []).forEach(function (c) { strip.appendChild(card(c)); });
      screen.appendChild(strip);
    }
    screen.appendChild(chips(content.suggestions));
  }

  var TEMPLATES = {
    text: {type: "text", text: "Hello!", suggestions: [{type: "reply", text: "Hi", postback_data: "hi"}]},
    card: {type: "card", orientation: "vertical", card: {title: "Title", description: "Description",
      suggestions: [{type: "reply", text: "Yes", postback_data: "yes"}]}},
    carousel: {type: "carousel", cards: [{title: "Card 1", description: "One"}, {title: "Card 2", description: "Two"}]}
  };
  document.querySelectorAll("[data-rcs-template]").forEach(function (button) {
    button.addEventListener("click", function () {
      area.value = JSON.stringify(TEMPLATES[button.dataset.rcsTemplate], null, 2);
      draw();
    });
  });
  var add = document.querySelector("[data-rcs-add-card]");
  if (add) {
    add.addEventListener("click", function () {
      var content;
      try { content = JSON.parse(area.value); } catch (e) { return; }
      if (content.type !== "carousel") { return; }
      content.cards.push({title: "Card " + (content.cards.length + 1), description: ""});
      area.value = JSON.stringify(content, null, 2);
      draw();
    });
  }
  area.addEventListener("input", draw);
  draw();
}());
