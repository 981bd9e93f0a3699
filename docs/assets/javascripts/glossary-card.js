/* Glossary cards (overrides/hooks/glossary.py): a term link shows its card on hover
   and on keyboard focus; on a touch screen the first tap shows the card in place and
   a second tap (or the card's link) opens the glossary. The cards come once per page
   as JSON; without JavaScript a term link simply opens the glossary. */
(function () {
  "use strict";
  var source = document.querySelector("script[data-glossary-cards]");
  if (!source) return;
  var cards;
  try {
    cards = JSON.parse(source.textContent);
  } catch (error) {
    return;
  }
  var english = (document.documentElement.lang || "").indexOf("en") === 0;

  var card = document.createElement("div");
  card.className = "glossary-card";
  card.id = "glossary-card";
  card.setAttribute("role", "tooltip");
  card.hidden = true;
  var name = document.createElement("p");
  name.className = "glossary-card__name";
  var definition = document.createElement("p");
  definition.className = "glossary-card__def";
  var more = document.createElement("a");
  more.className = "glossary-card__link";
  more.textContent = english ? "Open in the glossary" : "用語集で見る";
  // Never an <a> without href (crawlers and Lighthouse count it): the glossary until a card shows.
  var firstTerm = document.querySelector("a[data-glossary]");
  if (firstTerm) more.href = firstTerm.href.split("#")[0];
  card.appendChild(name);
  card.appendChild(definition);
  card.appendChild(more);
  document.body.appendChild(card);

  var current = null;
  var hideTimer = null;
  var touch = false;  // the last pointer was a finger or a pen

  function place(link) {
    var box = link.getBoundingClientRect();
    var width = card.offsetWidth;
    var left = Math.min(Math.max(8, box.left), document.documentElement.clientWidth - width - 8);
    card.style.left = (left + window.scrollX) + "px";
    card.style.top = (box.bottom + window.scrollY + 6) + "px";
  }

  function show(link) {
    var data = cards[link.getAttribute("data-glossary")];
    if (!data) return;
    clearTimeout(hideTimer);
    if (current && current !== link) current.removeAttribute("aria-describedby");
    name.textContent = data.name;
    definition.textContent = data.def;
    more.href = link.href;
    card.hidden = false;
    place(link);
    link.setAttribute("aria-describedby", card.id);
    current = link;
  }

  function hide() {
    card.hidden = true;
    if (current) current.removeAttribute("aria-describedby");
    current = null;
  }

  function hideSoon() {
    clearTimeout(hideTimer);
    hideTimer = setTimeout(hide, 200);
  }

  document.addEventListener("pointerdown", function (event) {
    touch = event.pointerType === "touch" || event.pointerType === "pen";
    if (current && !card.contains(event.target) && event.target !== current) hide();
  }, true);
  document.addEventListener("keydown", function (event) {
    touch = false;
    if (event.key === "Escape") hide();
  }, true);
  card.addEventListener("mouseenter", function () { clearTimeout(hideTimer); });
  card.addEventListener("mouseleave", hideSoon);

  Array.prototype.forEach.call(document.querySelectorAll("a.glossary-term[data-glossary]"), function (link) {
    // A tap also fires mouseenter and focus: touch is handled by click alone.
    link.addEventListener("mouseenter", function () { if (!touch) show(link); });
    link.addEventListener("mouseleave", function () { if (!touch) hideSoon(); });
    link.addEventListener("focus", function () { if (!touch) show(link); });
    link.addEventListener("blur", function () { if (!touch) hideSoon(); });
    link.addEventListener("click", function (event) {
      // First tap on a touch screen: the card, not a new page.
      if (touch && current !== link) {
        event.preventDefault();
        show(link);
      }
    });
  });
})();
