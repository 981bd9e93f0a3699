/* The I/O path widget (hook: overrides/hooks/io_path.py; kit: _kit.js): one packet sent by
   the guest along five paths. Radios [data-path]; hops [data-hop] (aria-current on the
   current one; position 0 is before the first); counters [data-counter]; the explanation
   [data-explanation]; the five totals [data-compare]. */
WidgetKit.define("io-path", function (w) {
  "use strict";

  var COUNTERS = ["exits", "copies", "switches"];
  var FLAG = { exits: "exit", copies: "copy", switches: "switch" };
  var el = w.el.bind(w);
  var paths = w.data.paths;
  var path = paths[0];

  function totalsOf(p, upTo) {
    var totals = { exits: 0, copies: 0, switches: 0 };
    p.hops.slice(0, upTo).forEach(function (hop) {
      COUNTERS.forEach(function (counter) {
        if (hop[FLAG[counter]]) {
          totals[counter] += 1;
        }
      });
    });
    return totals;
  }

  var app = w.app();

  // The path picker.
  app.appendChild(w.choices({ name: "path", attribute: "data-path", legend: w.t("paths"), checked: path.id,
    items: paths.map(function (p) { return { id: p.id, label: p.name }; }),
    change: function (id) {
      path = paths.filter(function (p) { return p.id === id; })[0];
      buildHops();
      stepper.restart();
    } }));

  var summary = el("p", "path-summary");
  app.appendChild(summary);

  // Counters and buttons.
  var board = el("div", "board");
  var counterBox = el("div", "counters");
  counterBox.setAttribute("role", "group");
  counterBox.setAttribute("aria-label", w.t("counters"));
  var counterValues = {};
  COUNTERS.forEach(function (counter) {
    var box = el("div", "counter");
    box.setAttribute("data-counter-box", counter);
    var value = el("span", "counter-value widget__counter-value", "0");
    value.setAttribute("data-counter", counter);
    box.appendChild(value);
    box.appendChild(el("span", "counter-label", w.t("counter." + counter)));
    counterBox.appendChild(box);
    counterValues[counter] = value;
  });
  board.appendChild(counterBox);

  var stepper = w.stepper({
    actions: ["back", "step", "reset"],
    first: function () { return 0; },
    more: function (position) { return position < path.hops.length; },
    next: function (position) { return position + 1; },
    render: render
  });
  board.appendChild(stepper.node);
  app.appendChild(board);

  var explanation = w.live("div", "explanation");
  explanation.setAttribute("data-explanation", "");
  app.appendChild(explanation);

  var hopsLabel = el("p", "hops-label", w.t("hops"));
  hopsLabel.id = w.uid + "-hops";
  app.appendChild(hopsLabel);
  var list = el("ol", "hops");
  list.setAttribute("aria-labelledby", hopsLabel.id);
  app.appendChild(list);

  // The comparison.
  var compareWrap = w.region("", w.uid + "-compare");
  var table = el("table", "widget__table compare");
  table.setAttribute("data-compare", "");
  var caption = document.createElement("caption");
  caption.id = w.uid + "-compare";
  caption.textContent = w.t("compare");
  table.appendChild(caption);
  table.appendChild(w.thead([w.t("path")].concat(COUNTERS.map(function (c) { return w.t("counter." + c); }))));
  var tbody = document.createElement("tbody");
  var max = { exits: 1, copies: 1, switches: 1 };
  paths.forEach(function (p) {
    var t = totalsOf(p, p.hops.length);
    COUNTERS.forEach(function (c) { max[c] = Math.max(max[c], t[c]); });
  });
  var compareRows = {};
  paths.forEach(function (p) {
    var t = totalsOf(p, p.hops.length);
    var row = document.createElement("tr");
    row.setAttribute("data-compare-path", p.id);
    var th = document.createElement("th");
    th.scope = "row";
    th.appendChild(el("span", "compare-name", p.name));
    var mark = el("span", "compare-current");
    th.appendChild(mark);
    row.appendChild(th);
    COUNTERS.forEach(function (c) {
      var td = document.createElement("td");
      td.setAttribute("data-total", c);
      var bar = el("span", "bar");
      bar.setAttribute("aria-hidden", "true");
      bar.style.width = (t[c] / max[c] * 100) + "%";
      var track = el("span", "bar-track");
      track.setAttribute("aria-hidden", "true");
      track.appendChild(bar);
      td.appendChild(el("span", "total-value", String(t[c])));
      td.appendChild(track);
      row.appendChild(td);
    });
    tbody.appendChild(row);
    compareRows[p.id] = { row: row, mark: mark };
  });
  table.appendChild(tbody);
  compareWrap.appendChild(table);
  app.appendChild(compareWrap);
  app.appendChild(el("p", "note", w.t("note")));

  // Rendering.
  var items = [];

  function buildHops() {
    list.textContent = "";
    items = path.hops.map(function (hop, i) {
      var item = el("li", "hop");
      item.setAttribute("data-hop", String(i + 1));
      item.setAttribute("data-side", hop.side);
      var head = el("span", "hop-head");
      head.appendChild(el("span", "hop-where", hop.where));
      head.appendChild(el("span", "hop-side", w.t("side." + hop.side)));
      item.appendChild(head);
      var tags = el("span", "hop-tags");
      COUNTERS.forEach(function (c) {
        if (hop[FLAG[c]]) {
          tags.appendChild(el("span", "tag tag--" + c, w.t("plus." + c)));
        }
      });
      item.appendChild(tags);
      list.appendChild(item);
      return item;
    });
  }

  function render(position) {
    var totals = totalsOf(path, position);
    COUNTERS.forEach(function (c) {
      counterValues[c].textContent = String(totals[c]);
    });
    items.forEach(function (item, i) {
      var n = i + 1;
      if (n === position) {
        item.setAttribute("aria-current", "step");
      } else {
        item.removeAttribute("aria-current");
      }
      item.setAttribute("data-state", n < position ? "done" : n === position ? "current" : "ahead");
    });
    Object.keys(compareRows).forEach(function (id) {
      var selected = id === path.id;
      compareRows[id].row.toggleAttribute("data-selected", selected);
      compareRows[id].mark.textContent = selected ? w.t("current") : "";
    });
    summary.textContent = path.summary;

    explanation.textContent = "";
    if (position === 0) {
      explanation.appendChild(el("p", "explain-start", w.t("start", { name: path.name, count: path.hops.length })));
      return;
    }
    var hop = path.hops[position - 1];
    var side = w.t("side." + hop.side);
    var head = el("p", "explain-head");
    head.appendChild(el("span", "explain-position", w.t("position", { n: position, count: path.hops.length }) + ": "));
    head.appendChild(el("strong", "", hop.where));
    if (hop.where.indexOf(side) === -1) {
      head.appendChild(el("span", "explain-side", w.t("sideParen", { name: side })));
    }
    explanation.appendChild(head);
    explanation.appendChild(el("p", "explain-text", hop.explain));
    var costs = COUNTERS.filter(function (c) { return hop[FLAG[c]]; }).map(function (c) { return w.t("plus." + c); });
    explanation.appendChild(el("p", "explain-costs", costs.length ? w.t("happens") + ": " + costs.join(w.t("join")) : w.t("none")));
    if (position === path.hops.length) {
      explanation.appendChild(el("p", "explain-end", w.t("end", totals)));
    }
  }

  w.mount(app);
  buildHops();
  stepper.restart();
});
