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
    // Hide a kind's heading and list when none of its entries is shown, and a
    // group's heading (h2) when all of its kinds are hidden.
    Array.prototype.forEach.call(document.querySelectorAll(".reference-list"), function (list) {
      var empty = !list.querySelector("[data-ref-id]:not([hidden])");
      list.hidden = empty;
      var heading = list.previousElementSibling;
      if (heading && /^H[34]$/.test(heading.tagName)) heading.hidden = empty;
    });
    Array.prototype.forEach.call(document.querySelectorAll(".md-content h2[id]"), function (group) {
      var lists = [];
      for (var next = group.nextElementSibling; next && next.tagName !== "H2"; next = next.nextElementSibling) {
        if (next.classList.contains("reference-list")) lists.push(next);
      }
      if (lists.length) group.hidden = lists.every(function (list) { return list.hidden; });
    });
  }

  selects.forEach(function (select) { select.addEventListener("change", apply); });
  filter.hidden = false;
})();
