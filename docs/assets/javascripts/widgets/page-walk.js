/* The page walk (hook: overrides/hooks/page_walk.py; kit: _kit.js): the memory references
   of one translation, native, shadow or nested. With n guest and m nested levels left after
   large pages, a TLB miss costs (n+1)(m+1)-1 references nested and n otherwise, a hit 0;
   the final data access is never counted (tests/test_widget_page_walk.py counts the same
   way). Settings select[data-setting]; [data-count], [data-total], [data-explain]; grid
   cells data-ref="<k>" and data-final. A preset (data.labWalks) replays a walk the
   kvm-paging lab recorded: 4+4 levels, its page size, a TLB miss, and the entries the lab
   read; changing a level, the page size or the TLB leaves it. */
WidgetKit.define("page-walk", function (w) {
  "use strict";

  var FEWER = { "4k": 0, "2m": 1, "1g": 2 };
  var PAGE_LABELS = { "4k": "4 KiB", "2m": "2 MiB", "1g": "1 GiB" };
  var data = w.data;
  var el = w.el.bind(w);
  var t = w.t.bind(w);
  var settings = { guest: 4, nested: 4, page: "4k", tlb: "miss", mode: "nested", lab: null };
  var walks = data.labWalks || [];
  var model = null;

  /* The references of one walk, final data access last (and not counted). */
  function walk() {
    var fewer = FEWER[settings.page];
    var n = settings.guest - fewer;
    var m = settings.nested - fewer;
    var steps = [];
    var k = 0;
    var rows = [];
    var cols = [];
    var gl = function (r) { return "gL" + (settings.guest - r); };  // the guest level read on row r
    if (settings.mode === "nested") {
      for (var c = 0; c < m; c++) {
        cols.push(t("colNested", { level: settings.nested - c }));
      }
      cols.push(t("read"));
      for (var r = 0; r <= n; r++) {
        var from = r === 0 ? t("rowCr3") : t("entry", { level: settings.guest - r + 1 });
        rows.push({ from: r === 0 ? t("rowCr3") : gl(r - 1), to: r < n ? gl(r) : t("rowData") });
        var what = r < n ? t("whatTable", { level: gl(r), from: from }) : t("whatData", { from: from });
        for (var j = 0; j < m; j++) {
          k += 1;
          var text = t("nestedStep", { k: k, level: t("colNested", { level: settings.nested - j }), what: what });
          if (j === m - 1) {
            text += " " + t("nestedDone");
          }
          steps.push({ row: r, col: j, ref: k, text: text });
        }
        if (r < n) {
          k += 1;
          steps.push({ row: r, col: m, ref: k, text: t("guestRead", { k: k, level: gl(r) }) +
                       (r + 1 < n ? t("guestReadNext", { next: gl(r + 1) }) : t("guestReadData")) });
        } else {
          steps.push({ row: r, col: m, ref: 0, text: t("final") });
        }
      }
    } else {
      var shadow = settings.mode === "shadow";
      for (var i = 0; i < n; i++) {
        cols.push(t("colGuest", { level: settings.guest - i }));
      }
      cols.push(t("data"));
      rows.push({ from: t(shadow ? "flatRowShadow" : "flatRow"), to: null });
      for (var level = 0; level < n; level++) {
        k += 1;
        steps.push({ row: 0, col: level, ref: k,
                     text: t(shadow ? "flatReadShadow" : "flatRead", { k: k, level: cols[level] }) +
                       (level + 1 < n ? t("flatNext", { next: cols[level + 1] }) : t(shadow ? "flatLastShadow" : "flatLast")) });
      }
      steps.push({ row: 0, col: n, ref: 0, text: t("final") });
    }
    if (settings.lab) {
      annotate(steps, n, m);
    }
    if (settings.tlb === "hit") {
      var last = steps[steps.length - 1];
      steps = [{ row: last.row, col: last.col, ref: 0, text: t("tlbHitStep") }];
    }
    return { rows: rows, cols: cols, steps: steps, total: count(settings) };
  }

  /* Add the lab's recorded entries to the steps that read a guest table. */
  function annotate(steps, n, m) {
    var lab = settings.lab;
    var add = function (step, text) { step.text += t("space") + text; };
    var entry = function (step) {
      return t("labEntry", { table: step.table, index: step.index, gpa: step.entry_gpa, entry: step.entry });
    };
    if (settings.mode === "shadow") {
      add(steps[0], t("labHidden"));
    } else if (settings.mode === "nested") {
      add(steps[0], t("labHidden"));
      for (var r = 0; r < n; r++) {
        add(steps[r * (m + 1) + m], entry(lab.steps[r]));
      }
    } else {
      for (var i = 0; i < n; i++) {
        add(steps[i], entry(lab.steps[i]));
      }
    }
    add(steps[steps.length - 1], t("labData", { gva: lab.gva, gpa: lab.gpa }));
  }

  function count(s) {
    if (s.tlb === "hit") {
      return 0;
    }
    var n = s.guest - FEWER[s.page];
    var m = s.nested - FEWER[s.page];
    return s.mode === "nested" ? (n + 1) * (m + 1) - 1 : n;
  }

  function formula() {
    if (settings.tlb === "hit") {
      return "0";
    }
    var n = settings.guest - FEWER[settings.page];
    var m = settings.nested - FEWER[settings.page];
    return settings.mode === "nested" ? "(" + n + "+1)(" + m + "+1)−1" : "n = " + n;
  }

  var app = el("div", "app");

  // The settings.

  var form = el("form", "settings");
  form.setAttribute("aria-label", t("settings"));
  w.on(form, "submit", function (event) { event.preventDefault(); });
  var controls = {};

  function select(name, label, options, value, apply) {
    var wrap = el("div", "setting setting--" + name);
    var id = w.uid + "-" + name;
    var caption = el("label", "setting-label", label);
    caption.setAttribute("for", id);
    var control = el("select", "select");
    control.id = id;
    control.setAttribute("data-setting", name);
    options.forEach(function (option) {
      var node = document.createElement("option");
      node.value = option[0];
      node.textContent = option[1];
      node.selected = option[0] === value;
      control.appendChild(node);
    });
    w.on(control, "change", function () {
      apply(control.value);
      if (name !== "mode" && name !== "preset" && settings.lab) {
        settings.lab = null;
        controls.preset.value = "";
      }
      rebuild();
    });
    wrap.appendChild(caption);
    wrap.appendChild(control);
    form.appendChild(wrap);
    controls[name] = control;
  }

  select("mode", t("mode"), ["native", "shadow", "nested"].map(function (mode) {
    return [mode, data.modes[mode].label];
  }), settings.mode, function (v) { settings.mode = v; });
  select("guest-levels", t("guestLevels"), [["4", t("levels", { k: 4 })], ["5", t("levels", { k: 5 })]],
         "4", function (v) { settings.guest = Number(v); });
  select("nested-levels", t("nestedLevels"), [["4", t("levels", { k: 4 })], ["5", t("levels", { k: 5 })]],
         "4", function (v) { settings.nested = Number(v); });
  select("page-size", t("pageSize"), ["4k", "2m", "1g"].map(function (size) { return [size, PAGE_LABELS[size]]; }),
         settings.page, function (v) { settings.page = v; });
  select("tlb", t("tlb"), [["miss", t("tlbMiss")], ["hit", t("tlbHit")]],
         settings.tlb, function (v) { settings.tlb = v; });
  if (walks.length) {
    select("preset", t("preset"), [["", t("presetNone")]].concat(walks.map(function (lab, i) {
      return [String(i), t("presetOption", { gva: lab.gva, size: PAGE_LABELS[lab.page] })];
    })), "", function (v) {
      settings.lab = v === "" ? null : walks[Number(v)];
      if (settings.lab) {  // the lab's walk: 4-level tables, a TLB miss, its page size
        settings.guest = 4;
        settings.nested = 4;
        settings.page = settings.lab.page;
        settings.tlb = "miss";
        controls["guest-levels"].value = "4";
        controls["nested-levels"].value = "4";
        controls["page-size"].value = settings.page;
        controls.tlb.value = "miss";
      }
    });
  }
  app.appendChild(form);

  // The totals, the mode's explanation.

  var total = el("p", "total");
  total.setAttribute("data-total", "");
  app.appendChild(total);
  var compare = el("p", "compare");
  compare.setAttribute("data-compare", "");
  app.appendChild(compare);
  var about = el("p", "about");
  about.setAttribute("data-mode-explain", "");
  app.appendChild(about);

  // The buttons and the counter.

  var bar = el("div", "bar");
  var explain = w.live("p", "explain");
  explain.setAttribute("data-explain", "");
  var stepper = w.stepper({
    actions: ["back", "step", "run", "reset"],
    first: function () { return 0; },
    more: function (position) { return position < model.steps.length; },
    next: function (position) { return position + 1; },
    render: render,
    blocked: function (action) {
      if (action === "step") {
        explain.textContent = t("end");
      }
    }
  });
  bar.appendChild(stepper.node);
  var counter = el("p", "counter");
  counter.appendChild(document.createTextNode(t("count") + ": "));
  var shown = el("strong", "count widget__counter-value", "0");
  shown.setAttribute("data-count", "");
  counter.appendChild(shown);
  var of = el("span", "of");
  counter.appendChild(of);
  counter.appendChild(el("span", "excluded", t("excluded")));
  bar.appendChild(counter);
  app.appendChild(bar);
  app.appendChild(explain);

  // The grid.

  var gridWrap = w.region("grid-wrap", w.uid + "-grid-caption");
  app.appendChild(gridWrap);
  var cells = [];

  function buildGrid() {
    gridWrap.textContent = "";
    var table = el("table", "grid");
    table.setAttribute("data-grid", settings.mode);
    var caption = document.createElement("caption");
    caption.id = w.uid + "-grid-caption";
    caption.appendChild(el("span", "grid-title", t("grid")));
    caption.appendChild(el("span", "grid-hint", t(settings.mode === "nested" ? "gridNested" : "gridFlat")));
    table.appendChild(caption);
    var head = document.createElement("thead");
    var headRow = document.createElement("tr");
    headRow.appendChild(el("td", "corner"));
    model.cols.forEach(function (label, index) {
      var th = el("th", "col" + (index === model.cols.length - 1 ? " col--last" : ""), label);
      th.scope = "col";
      headRow.appendChild(th);
    });
    head.appendChild(headRow);
    table.appendChild(head);
    var body = document.createElement("tbody");
    cells = [];
    model.rows.forEach(function (row) {
      var tr = document.createElement("tr");
      var th = el("th", "row");
      th.scope = "row";
      th.appendChild(el("span", "row-from", row.from));
      if (row.to) {
        th.appendChild(el("span", "row-to", " " + t("to") + " " + row.to));
      }
      tr.appendChild(th);
      cells.push(model.cols.map(function (label, index) {
        var td = el("td", "cell" + (index === model.cols.length - 1 ? " cell--last" : ""));
        tr.appendChild(td);
        return td;
      }));
      body.appendChild(tr);
    });
    table.appendChild(body);
    gridWrap.appendChild(table);
  }

  // Rendering.

  function render(position) {
    var counted = 0;
    cells.forEach(function (line) {
      line.forEach(function (td) {
        td.removeAttribute("data-ref");
        td.removeAttribute("data-final");
        td.classList.remove("page-walk__cell--current");
        td.textContent = "";
      });
    });
    for (var i = 0; i < position; i++) {
      var step = model.steps[i];
      var td = cells[step.row][step.col];
      if (step.ref) {
        counted += 1;
        td.setAttribute("data-ref", String(step.ref));
        td.textContent = String(step.ref);
      } else {
        td.setAttribute("data-final", "");
        td.textContent = t("dataCell");
      }
      if (i === position - 1) {
        td.classList.add("page-walk__cell--current");
      }
    }
    shown.textContent = String(counted);
    of.textContent = t("of", { total: model.total });
    explain.textContent = position === 0 ? t("start") : model.steps[position - 1].text;
  }

  function rebuild() {
    model = walk();
    total.textContent = t("total", { formula: formula(), total: model.total }) + t("excluded");
    compare.textContent = t("compare") + ": " + ["native", "shadow", "nested"].map(function (mode) {
      var value = count({ guest: settings.guest, nested: settings.nested, page: settings.page, tlb: settings.tlb, mode: mode });
      return data.modes[mode].label + " " + value + t("unit");
    }).join(t("join"));
    var notes = [data.modes[settings.mode].explain];
    if (settings.page !== "4k") {
      notes.push(data.largePages);
    }
    if (settings.tlb === "hit") {
      notes.push(data.tlb);
    }
    // A word joiner keeps the formula on one line.
    about.textContent = notes.join(t("space")).replace(/\(n\+1\)\(m\+1\)−1/g, "(n+1)\u2060(m+1)\u2060−\u20601");
    buildGrid();
    stepper.restart();
  }

  w.mount(app);
  rebuild();
});
