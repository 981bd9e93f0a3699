/*
 * The page walk: count the memory references needed to translate one guest
 * virtual address, natively, with shadow paging and with nested paging (EPT/NPT).
 *
 * The markup comes from overrides/hooks/page_walk.py: a root
 * [data-widget="page-walk"] holding a static explanation and a table of counts
 * ([data-static], for readers without JavaScript) and the texts as
 * <script type="application/json" data-page-walk-data>, in the page's language.
 * Here the static part is hidden and replaced by the stepper: settings
 * (select[data-setting="guest-levels|nested-levels|page-size|tlb|mode"]), buttons
 * (button[data-action="step|back|run|reset"]), the count so far ([data-count]),
 * the total by the formula ([data-total]), the explanation of the last step
 * ([data-explain], aria-live) and a grid whose referenced cells carry
 * data-ref="<number>" (the final data access: data-final, never numbered).
 *
 * The count: with n guest and m nested levels left after large pages (a 2 MiB page
 * removes one level, a 1 GiB page two, from both), a TLB miss costs
 * (n+1)(m+1)-1 references with nested paging and n natively or with shadow
 * paging; a TLB hit costs 0. The final data access is never counted.
 * tests/test_widget_page_walk.py computes the same numbers independently.
 *
 * Presets (select[data-setting="preset"], only when the data has labWalks): a walk that
 * the kvm-paging lab recorded. Choosing one sets 4 guest and 4 nested levels, the walk's
 * page size and a TLB miss, and each read of a guest table (natively, or the last column
 * of the nested grid) says which entry the lab found there; the data access gives the
 * GPA. The shadow table and the EPT/NPT tables are KVM's and were not recorded. Changing
 * a level, the page size or the TLB setting leaves the preset.
 */
(function () {
  "use strict";

  var STRINGS = {
    ja: {
      settings: "設定",
      guestLevels: "ゲストの段数 n",
      nestedLevels: "ネステッドの段数 m",
      pageSize: "ページサイズ（ゲストとネステッドの両方）",
      tlb: "TLB",
      tlbMiss: "ミス（ページウォークする）",
      tlbHit: "ヒット（変換がTLBにある）",
      mode: "方式",
      levels: function (k) { return k + "段"; },
      step: "1歩進む",
      back: "1歩戻る",
      run: "最後まで",
      reset: "最初から",
      count: "ここまでの参照",
      unit: "回",
      of: function (total) { return " / " + total + "回"; },
      excluded: "（最終的なデータアクセスを除く）",
      total: function (formula, total) { return "この設定の参照回数: " + formula + " = " + total + "回"; },
      compare: "比べると",
      grid: "参照の順番",
      gridNested: "行: 変換するGPAの出どころ（gCR3とゲストの各段）、列: ネステッドの各段と、その後の読み出し",
      gridFlat: "列: たどるページテーブルの各段と、その後のデータアクセス",
      read: "読む",
      data: "データ",
      dataCell: "データ",
      table: function (level) { return "gL" + level + "の表"; },
      entry: function (level) { return "gL" + level + "のエントリ"; },
      start: "「1歩進む」を押すと、最初のメモリ参照に進みます。",
      nestedStep: function (k, nl, what) {
        return "参照" + k + ": ネステッドのページテーブルの" + nl + "のエントリを読み、" + what + "のGPAを変換します。";
      },
      nestedDone: "これでホスト物理アドレス（HPA）が分かりました。",
      whatTable: function (level, from) { return from + "が指す" + level + "の表"; },
      whatData: function (from) { return from + "が指すデータ"; },
      guestRead: function (k, level, next) {
        return "参照" + k + ": ゲストの" + level + "の表のエントリを、いま求めたHPAで読みます。" +
          (next ? "エントリには" + next + "の表のGPAが入っています。" : "エントリにはデータのGPAが入っています。");
      },
      flatRead: function (k, level, shadow, next) {
        return "参照" + k + ": " + (shadow ? "シャドウページテーブル" : "ページテーブル") + "の" + level +
          "のエントリを読みます。" + (next ? "次は" + next + "の表です。" :
          (shadow ? "エントリにはデータのHPAが入っています。" : "エントリにはデータの物理アドレスが入っています。"));
      },
      final: "最後に、求めた物理アドレスでデータにアクセスします。これはページウォークではないので数えません。",
      tlbHitStep: "TLBに当たりました。変換はTLBにあるので、ページテーブルは1回も読みません（0回）。そのままデータにアクセスします（数えません）。",
      end: "最後まで進みました。「1歩戻る」か「最初から」で見直せます。",
      rowCr3: "gCR3",
      rowData: "データ",
      flatRow: function (shadow) { return shadow ? "CR3（シャドウ）" : "CR3"; },
      to: "→",
      colNested: function (level) { return "nL" + level; },
      colGuest: function (level) { return "L" + level; },
      preset: "ハンズオンの記録",
      presetNone: "使わない（自由に設定）",
      presetOption: function (walk) { return "GVA " + walk.gva + "（" + PAGE_LABELS[walk.page] + "）"; },
      labEntry: function (step) {
        return "ハンズオンの記録: " + step.table + "[" + step.index + "]（GPA " + step.entry_gpa + "）= " + step.entry + "。";
      },
      labData: function (walk) { return "ハンズオンの記録: GVA " + walk.gva + " → GPA " + walk.gpa + "。"; },
      labHidden: "この表の中身はKVMが管理していて、ハンズオンのVMMからは読めないので記録はありません。",
      sep: ""
    },
    en: {
      settings: "Settings",
      guestLevels: "Guest levels n",
      nestedLevels: "Nested levels m",
      pageSize: "Page size (guest and nested alike)",
      tlb: "TLB",
      tlbMiss: "Miss (walk the tables)",
      tlbHit: "Hit (translation cached)",
      mode: "Mode",
      levels: function (k) { return k + " levels"; },
      step: "Step",
      back: "Back",
      run: "Run to end",
      reset: "Reset",
      count: "References so far",
      unit: "",
      of: function (total) { return " of " + total; },
      excluded: " (final data access not counted)",
      total: function (formula, total) { return "References for these settings: " + formula + " = " + total; },
      compare: "Compare",
      grid: "Order of the references",
      gridNested: "Rows: where the GPA being translated comes from (gCR3 and each guest level); columns: each nested level, then the read that follows",
      gridFlat: "Columns: each level of the page table, then the data access",
      read: "read",
      data: "data",
      dataCell: "data",
      table: function (level) { return "the gL" + level + " table"; },
      entry: function (level) { return "the gL" + level + " entry"; },
      start: "Press “Step” to make the first memory reference.",
      nestedStep: function (k, nl, what) {
        return "Reference " + k + ": read the " + nl + " entry of the nested page table to translate the GPA of " + what + ".";
      },
      nestedDone: "Now the host-physical address (HPA) is known.",
      whatTable: function (level, from) { return level + " table (from " + from + ")"; },
      whatData: function (from) { return "the data (from " + from + ")"; },
      guestRead: function (k, level, next) {
        return "Reference " + k + ": read the entry of the guest's " + level + " table at the HPA just found. " +
          (next ? "It holds the GPA of the " + next + " table." : "It holds the GPA of the data.");
      },
      flatRead: function (k, level, shadow, next) {
        return "Reference " + k + ": read the " + level + " entry of the " + (shadow ? "shadow page table" : "page table") +
          ". " + (next ? "Next comes the " + next + " table." :
          (shadow ? "It holds the HPA of the data." : "It holds the physical address of the data."));
      },
      final: "Last, the data is accessed at the physical address found. That is not part of the walk and is not counted.",
      tlbHitStep: "TLB hit: the translation is cached, so no page table is read (0 references). The data is accessed directly (not counted).",
      end: "This is the end of the walk. Use “Back” or “Reset” to look again.",
      rowCr3: "gCR3",
      rowData: "data",
      flatRow: function (shadow) { return shadow ? "CR3 (shadow)" : "CR3"; },
      to: "→",
      colNested: function (level) { return "nL" + level; },
      colGuest: function (level) { return "L" + level; },
      preset: "Lab record",
      presetNone: "None (free settings)",
      presetOption: function (walk) { return "GVA " + walk.gva + " (" + PAGE_LABELS[walk.page] + ")"; },
      labEntry: function (step) {
        return "Lab record: " + step.table + "[" + step.index + "] (GPA " + step.entry_gpa + ") = " + step.entry + ".";
      },
      labData: function (walk) { return "Lab record: GVA " + walk.gva + " → GPA " + walk.gpa + "."; },
      labHidden: "This table belongs to KVM; the lab's VMM cannot read it, so nothing was recorded.",
      sep: " "
    }
  };

  var PREFIX = "page-walk__";
  var FEWER = { "4k": 0, "2m": 1, "1g": 2 };
  var PAGE_LABELS = { "4k": "4 KiB", "2m": "2 MiB", "1g": "1 GiB" };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className.split(" ").map(function (name) { return PREFIX + name; }).join(" ");
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  /* The references of one walk, final data access last (and not counted). */
  function walk(settings, strings) {
    var fewer = FEWER[settings.page];
    var n = settings.guest - fewer;
    var m = settings.nested - fewer;
    var steps = [];
    var k = 0;
    var rows = [];
    var cols = [];
    var gl = function (r) { return settings.guest - r; };  // the guest level read on row r
    if (settings.mode === "nested") {
      for (var c = 0; c < m; c++) {
        cols.push(strings.colNested(settings.nested - c));
      }
      cols.push(strings.read);
      for (var r = 0; r <= n; r++) {
        var from = r === 0 ? strings.rowCr3 : strings.entry(gl(r - 1));
        var to = r < n ? "gL" + gl(r) : strings.rowData;
        rows.push({ from: r === 0 ? strings.rowCr3 : "gL" + gl(r - 1), to: to });
        var what = r < n ? strings.whatTable("gL" + gl(r), from) : strings.whatData(from);
        for (var j = 0; j < m; j++) {
          k += 1;
          var text = strings.nestedStep(k, strings.colNested(settings.nested - j), what);
          if (j === m - 1) {
            text += " " + strings.nestedDone;
          }
          steps.push({ row: r, col: j, ref: k, text: text });
        }
        if (r < n) {
          k += 1;
          steps.push({ row: r, col: m, ref: k,
                       text: strings.guestRead(k, "gL" + gl(r), r + 1 < n ? "gL" + gl(r + 1) : null) });
        } else {
          steps.push({ row: r, col: m, ref: 0, text: strings.final });
        }
      }
    } else {
      var shadow = settings.mode === "shadow";
      for (var i = 0; i < n; i++) {
        cols.push(strings.colGuest(settings.guest - i));
      }
      cols.push(strings.data);
      rows.push({ from: strings.flatRow(shadow), to: null });
      for (var level = 0; level < n; level++) {
        k += 1;
        steps.push({ row: 0, col: level, ref: k,
                     text: strings.flatRead(k, strings.colGuest(settings.guest - level), shadow,
                                            level + 1 < n ? strings.colGuest(settings.guest - level - 1) : null) });
      }
      steps.push({ row: 0, col: n, ref: 0, text: strings.final });
    }
    if (settings.lab) {
      annotate(steps, settings, strings, n, m);
    }
    if (settings.tlb === "hit") {
      var last = steps[steps.length - 1];
      steps = [{ row: last.row, col: last.col, ref: 0, text: strings.tlbHitStep }];
    }
    return { n: n, m: m, rows: rows, cols: cols, steps: steps, total: count(settings) };
  }

  /* Add the lab's recorded entries to the steps that read a guest table. */
  function annotate(steps, settings, strings, n, m) {
    var walk = settings.lab;
    var add = function (step, text) { step.text += strings.sep + text; };
    if (settings.mode === "shadow") {
      add(steps[0], strings.labHidden);
    } else if (settings.mode === "nested") {
      add(steps[0], strings.labHidden);
      for (var r = 0; r < n; r++) {
        add(steps[r * (m + 1) + m], strings.labEntry(walk.steps[r]));
      }
    } else {
      for (var i = 0; i < n; i++) {
        add(steps[i], strings.labEntry(walk.steps[i]));
      }
    }
    add(steps[steps.length - 1], strings.labData(walk));
  }

  function count(settings) {
    if (settings.tlb === "hit") {
      return 0;
    }
    var fewer = FEWER[settings.page];
    var n = settings.guest - fewer;
    var m = settings.nested - fewer;
    return settings.mode === "nested" ? (n + 1) * (m + 1) - 1 : n;
  }

  function formula(settings) {
    if (settings.tlb === "hit") {
      return "0";
    }
    var fewer = FEWER[settings.page];
    var n = settings.guest - fewer;
    var m = settings.nested - fewer;
    return settings.mode === "nested" ? "(" + n + "+1)(" + m + "+1)−1" : "n = " + n;
  }

  function setup(root, index) {
    var source = root.querySelector("script[data-page-walk-data]");
    if (!source) {
      return;
    }
    var data = JSON.parse(source.textContent);
    var strings = STRINGS[data.lang] || STRINGS.en;
    var uid = root.id || "page-walk-" + (index + 1);
    var settings = { guest: 4, nested: 4, page: "4k", tlb: "miss", mode: "nested", lab: null };
    var walks = data.labWalks || [];
    var model = null;
    var position = 0;  // how many steps have been made

    var app = el("div", "app");

    // --- the settings ----------------------------------------------------------

    var form = el("form", "settings");
    form.setAttribute("aria-label", strings.settings);
    form.addEventListener("submit", function (event) { event.preventDefault(); });

    function select(name, label, options, value, apply) {
      var wrap = el("div", "setting setting--" + name);
      var id = uid + "-" + name;
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
      control.addEventListener("change", function () {
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
      return control;
    }
    var controls = {};

    select("mode", strings.mode, [
      ["native", data.modes.native.label], ["shadow", data.modes.shadow.label], ["nested", data.modes.nested.label]
    ], settings.mode, function (v) { settings.mode = v; });
    select("guest-levels", strings.guestLevels, [["4", strings.levels(4)], ["5", strings.levels(5)]],
           "4", function (v) { settings.guest = Number(v); });
    select("nested-levels", strings.nestedLevels, [["4", strings.levels(4)], ["5", strings.levels(5)]],
           "4", function (v) { settings.nested = Number(v); });
    select("page-size", strings.pageSize, [["4k", PAGE_LABELS["4k"]], ["2m", PAGE_LABELS["2m"]], ["1g", PAGE_LABELS["1g"]]],
           settings.page, function (v) { settings.page = v; });
    select("tlb", strings.tlb, [["miss", strings.tlbMiss], ["hit", strings.tlbHit]],
           settings.tlb, function (v) { settings.tlb = v; });
    if (walks.length) {
      select("preset", strings.preset, [["", strings.presetNone]].concat(walks.map(function (walk, i) {
        return [String(i), strings.presetOption(walk)];
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

    // --- the totals, the mode's explanation ---------------------------------------

    var total = el("p", "total");
    total.setAttribute("data-total", "");
    app.appendChild(total);
    var compare = el("p", "compare");
    compare.setAttribute("data-compare", "");
    app.appendChild(compare);
    var about = el("p", "about");
    about.setAttribute("data-mode-explain", "");
    app.appendChild(about);

    // --- the controls and the counter -------------------------------------------

    var bar = el("div", "bar");
    var actions = el("div", "actions");
    var buttons = {};
    [["back", strings.back], ["step", strings.step], ["run", strings.run], ["reset", strings.reset]].forEach(function (pair) {
      var button = el("button", "button");
      button.type = "button";
      button.className += " md-button" + (pair[0] === "step" ? " md-button--primary" : "");
      button.setAttribute("data-action", pair[0]);
      button.textContent = pair[1];
      actions.appendChild(button);
      buttons[pair[0]] = button;
    });
    bar.appendChild(actions);
    var counter = el("p", "counter");
    counter.appendChild(document.createTextNode(strings.count + ": "));
    var shown = el("strong", "count", "0");
    shown.setAttribute("data-count", "");
    counter.appendChild(shown);
    var of = el("span", "of");
    counter.appendChild(of);
    counter.appendChild(el("span", "excluded", strings.excluded));
    bar.appendChild(counter);
    app.appendChild(bar);

    var explain = el("p", "explain");
    explain.setAttribute("data-explain", "");
    explain.setAttribute("aria-live", "polite");
    app.appendChild(explain);

    // --- the grid -------------------------------------------------------------------

    var gridWrap = el("div", "grid-wrap");
    gridWrap.setAttribute("role", "region");
    gridWrap.setAttribute("tabindex", "0");
    gridWrap.setAttribute("aria-labelledby", uid + "-grid-caption");
    app.appendChild(gridWrap);
    var cells = [];

    function buildGrid() {
      gridWrap.textContent = "";
      var table = el("table", "grid");
      table.setAttribute("data-grid", settings.mode);
      var caption = document.createElement("caption");
      caption.id = uid + "-grid-caption";
      caption.appendChild(el("span", "grid-title", strings.grid));
      caption.appendChild(el("span", "grid-hint", settings.mode === "nested" ? strings.gridNested : strings.gridFlat));
      table.appendChild(caption);
      var head = document.createElement("thead");
      var headRow = document.createElement("tr");
      var corner = document.createElement("td");
      corner.className = PREFIX + "corner";
      headRow.appendChild(corner);
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
          th.appendChild(el("span", "row-to", " " + strings.to + " " + row.to));
        }
        tr.appendChild(th);
        var line = [];
        model.cols.forEach(function (label, index) {
          var td = el("td", "cell" + (index === model.cols.length - 1 ? " cell--last" : ""));
          tr.appendChild(td);
          line.push(td);
        });
        cells.push(line);
        body.appendChild(tr);
      });
      table.appendChild(body);
      gridWrap.appendChild(table);
    }

    // --- state --------------------------------------------------------------------

    function counted() {
      var k = 0;
      for (var i = 0; i < position; i++) {
        if (model.steps[i].ref) {
          k += 1;
        }
      }
      return k;
    }

    function render(message) {
      cells.forEach(function (line) {
        line.forEach(function (td) {
          td.removeAttribute("data-ref");
          td.removeAttribute("data-final");
          td.classList.remove(PREFIX + "cell--current");
          td.textContent = "";
        });
      });
      for (var i = 0; i < position; i++) {
        var step = model.steps[i];
        var td = cells[step.row][step.col];
        if (step.ref) {
          td.setAttribute("data-ref", String(step.ref));
          td.textContent = String(step.ref);
        } else {
          td.setAttribute("data-final", "");
          td.textContent = strings.dataCell;
        }
        if (i === position - 1) {
          td.classList.add(PREFIX + "cell--current");
        }
      }
      shown.textContent = String(counted());
      of.textContent = strings.of(model.total);
      buttons.back.setAttribute("aria-disabled", String(position === 0));
      buttons.reset.setAttribute("aria-disabled", String(position === 0));
      buttons.step.setAttribute("aria-disabled", String(position === model.steps.length));
      buttons.run.setAttribute("aria-disabled", String(position === model.steps.length));
      if (message !== undefined) {
        explain.textContent = message;
      } else {
        explain.textContent = position === 0 ? strings.start : model.steps[position - 1].text;
      }
    }

    function rebuild() {
      model = walk(settings, strings);
      position = 0;
      total.textContent = strings.total(formula(settings), model.total) + strings.excluded;
      var others = ["native", "shadow", "nested"].map(function (mode) {
        var value = count({ guest: settings.guest, nested: settings.nested, page: settings.page, tlb: settings.tlb, mode: mode });
        return data.modes[mode].label + " " + value + strings.unit;
      });
      compare.textContent = strings.compare + ": " + others.join(data.lang === "ja" ? "、" : ", ");
      var notes = [data.modes[settings.mode].explain];
      if (settings.page !== "4k") {
        notes.push(data.largePages);
      }
      if (settings.tlb === "hit") {
        notes.push(data.tlb);
      }
      // A word joiner keeps the formula on one line.
      about.textContent = notes.join(data.lang === "ja" ? "" : " ").replace(/\(n\+1\)\(m\+1\)−1/g, "(n+1)\u2060(m+1)\u2060−\u20601");
      buildGrid();
      render();
    }

    buttons.step.addEventListener("click", function () {
      if (position < model.steps.length) {
        position += 1;
        render();
      } else {
        render(strings.end);
      }
    });
    buttons.back.addEventListener("click", function () {
      if (position > 0) {
        position -= 1;
      }
      render();
    });
    buttons.run.addEventListener("click", function () {
      position = model.steps.length;
      render();
    });
    buttons.reset.addEventListener("click", function () {
      position = 0;
      render();
    });

    root.querySelector("[data-static]").hidden = true;
    root.insertBefore(app, source);
    root.classList.add("page-walk--ready");
    rebuild();
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll('[data-widget="page-walk"]'), setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
