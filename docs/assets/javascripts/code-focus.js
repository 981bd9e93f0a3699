/* Keyboard focus on a code listing stays where it is while Material sets the listing up.
   Every listing starts as a tab stop (overrides/hooks/code_block_lines.py); Material sets
   one up only when it comes into view (content.lazy) and then takes the tab stop away
   from listings that do not scroll sideways. When Tab has just brought such a listing
   into view, the browser would move the focus off it (to <body>) and the focus ring
   would vanish. The listing keeps the focus instead, and leaves the tab order
   (tabindex -1) as Material meant. */
(function () {
  "use strict";
  document.addEventListener("focusout", function (event) {
    var listing = event.target;
    // Focus that moved elsewhere, or left a listing that is still a tab stop, is the reader's.
    if (event.relatedTarget || listing.hasAttribute("tabindex")
        || !listing.matches(".md-typeset .highlight > pre > code")) return;
    listing.setAttribute("tabindex", "-1");
    listing.focus({ preventScroll: true });
  });
})();
