/* /references/: filter the entries by kind and language (the list is complete without it). */
(function () {
  "use strict";
  var filter = document.querySelector("[data-reference-filter]");
  if (!filter) return;
  var selects = Array.prototype.slice.call(filter.querySelectorAll("select[data-filter]"));

  function apply() {
    var wanted = {};
    selects.forEach(function (select) { wanted[select.getAttribute("data-filter")] = select.value; });
    Array.prototype.forEach.call(document.querySelectorAll("[data-ref-id]"), function (entry) {
      var show = (!wanted.type || entry.getAttribute("data-type") === wanted.type) &&
        (!wanted.language || entry.getAttribute("data-language") === wanted.language);
      entry.hidden = !show;
    });
    // Hide a kind's heading and list when none of its entries is shown.
    Array.prototype.forEach.call(document.querySelectorAll(".reference-list"), function (list) {
      var empty = !list.querySelector("[data-ref-id]:not([hidden])");
      list.hidden = empty;
      var heading = list.previousElementSibling;
      if (heading && /^H[2-4]$/.test(heading.tagName)) heading.hidden = empty;
    });
  }

  selects.forEach(function (select) { select.addEventListener("change", apply); });
  filter.hidden = false;
})();
