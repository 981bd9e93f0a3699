/*
 * The I/O path widget: follow one packet sent by the guest along five I/O paths.
 *
 * The markup comes from overrides/hooks/io_path.py: a root [data-widget="io-path"]
 * holding static tables of every path's hops and totals ([data-static], for readers
 * without JavaScript) and the data as <script type="application/json"
 * data-io-path-data>, in the page's language. Here the tables are hidden and
 * replaced by a step-through: radio buttons to pick a path ([data-path]), the hops
 * as a list ([data-hop="1"...], the current one aria-current="step"), counters
 * ([data-counter="exits|copies|switches"]), buttons ([data-action="step|back|reset"]),
 * an explanation that screen readers hear ([data-explanation], aria-live), and a
 * table comparing the five paths' totals. Position 0 is "before the first hop".
 */
(function () {
  "use strict";

  var STRINGS = {
    ja: {
      intro: "ゲストが送る1つのネットワークパケットを、経路を選んで1歩ずつたどりましょう。「次へ」を押すたびに、パケットや制御が次の場所に進み、VM exit・データのコピー・ホストのユーザー空間とカーネルの切り替えを数えます。",
      paths: "経路",
      hops: "道のり",
      counters: "ここまでの数",
      exits: "VM exit",
      copies: "コピー",
      switches: "ユーザー空間とカーネルの切り替え",
      switchesShort: "切り替え",
      step: "次へ",
      back: "戻る",
      reset: "最初から",
      start: function (name, count) {
        return name + ": " + count + "か所を通ります。「次へ」を押すと、最初の場所に進みます。";
      },
      position: function (n, count) { return count + "か所中" + n + "か所目"; },
      happens: "ここで起きること",
      side: function (name) { return "（" + name + "）"; },
      none: "VM exit・コピー・切り替えはありません。",
      plus: { exits: "VM exit +1", copies: "コピー +1", switches: "切り替え +1" },
      join: "、",
      end: function (totals) {
        return "終点です。合計: VM exit " + totals.exits + "回、コピー " + totals.copies + "回、切り替え " + totals.switches + "回。";
      },
      compare: "5つの経路の合計",
      path: "経路",
      current: "（表示中）",
      note: "数は、1つのパケットを送るときの最小限の流れを、この図の数え方で数えたものです。ゲストの中のコピー、デバイスのDMA、送信完了の割り込みは数えていません。実際の数は、ドライバーやQEMU・カーネルの版、まとめて送るかどうか、割り込みの扱いで変わります。",
      sides: { guest: "ゲスト", "host-kernel": "ホストのカーネル", "host-user": "ホストのユーザー空間", device: "デバイス" }
    },
    en: {
      intro: "Pick a path and follow one network packet sent by the guest, one step at a time. Each press of “Step” moves the packet or the control to the next place and counts VM exits, copies of the data, and switches between host user space and the host kernel.",
      paths: "Path",
      hops: "Hops",
      counters: "Counted so far",
      exits: "VM exits",
      copies: "Copies",
      switches: "Host user/kernel switches",
      switchesShort: "switches",
      step: "Step",
      back: "Back",
      reset: "Reset",
      start: function (name, count) {
        return name + ": " + count + " hops. Press “Step” to go to the first one.";
      },
      position: function (n, count) { return "Hop " + n + " of " + count; },
      happens: "What happens here",
      side: function (name) { return " (" + name + ")"; },
      none: "No VM exit, copy or switch.",
      plus: { exits: "VM exit +1", copies: "copy +1", switches: "switch +1" },
      join: ", ",
      end: function (totals) {
        return "The end. Totals: " + totals.exits + " VM exits, " + totals.copies + " copies, " + totals.switches + " switches.";
      },
      compare: "The five paths' totals",
      path: "Path",
      current: " (shown)",
      note: "The numbers count the minimal flow for sending one packet, the way this widget counts. Copies inside the guest, DMA by a device and the transmit-complete interrupt are not counted. Real numbers vary with the driver, the QEMU and kernel versions, batching and interrupt handling.",
      sides: { guest: "Guest", "host-kernel": "Host kernel", "host-user": "Host user space", device: "Device" }
    }
  };

  var PREFIX = "io-path__";
  var COUNTERS = ["exits", "copies", "switches"];
  var FLAG = { exits: "exit", copies: "copy", switches: "switch" };

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

  function totalsOf(path, upTo) {
    var totals = { exits: 0, copies: 0, switches: 0 };
    path.hops.slice(0, upTo).forEach(function (hop) {
      COUNTERS.forEach(function (counter) {
        if (hop[FLAG[counter]]) {
          totals[counter] += 1;
        }
      });
    });
    return totals;
  }

  function setup(root, index) {
    var source = root.querySelector("script[data-io-path-data]");
    if (!source) {
      return;
    }
    var data = JSON.parse(source.textContent);
    var strings = STRINGS[data.lang] || STRINGS.en;
    var uid = root.id || "io-path-" + (index + 1);
    var paths = data.paths;
    var path = paths[0];
    var position = 0;  // 0: before the first hop; n: hop n is current

    var app = el("div", "app");
    app.appendChild(el("p", "intro", strings.intro));

    // --- the path picker --------------------------------------------------------
    var picker = el("fieldset", "picker");
    picker.appendChild(el("legend", "legend", strings.paths));
    var choices = el("div", "choices");
    paths.forEach(function (p, i) {
      var label = el("label", "choice");
      var input = document.createElement("input");
      input.type = "radio";
      input.name = uid + "-path";
      input.value = p.id;
      input.checked = i === 0;
      input.setAttribute("data-path", p.id);
      input.addEventListener("change", function () {
        if (input.checked) {
          choose(p);
        }
      });
      label.appendChild(input);
      label.appendChild(el("span", "choice-text", p.name));
      choices.appendChild(label);
    });
    picker.appendChild(choices);
    app.appendChild(picker);

    var summary = el("p", "path-summary");
    app.appendChild(summary);

    // --- counters and controls ----------------------------------------------------
    var board = el("div", "board");
    var counterBox = el("div", "counters");
    counterBox.setAttribute("role", "group");
    counterBox.setAttribute("aria-label", strings.counters);
    var counterValues = {};
    COUNTERS.forEach(function (counter) {
      var box = el("div", "counter");
      box.setAttribute("data-counter-box", counter);
      var value = el("span", "counter-value", "0");
      value.setAttribute("data-counter", counter);
      box.appendChild(value);
      box.appendChild(el("span", "counter-label", strings[counter]));
      counterBox.appendChild(box);
      counterValues[counter] = value;
    });
    board.appendChild(counterBox);

    var actions = el("div", "actions");
    var buttons = {};
    ["back", "step", "reset"].forEach(function (action) {
      var button = el("button", "button");
      button.type = "button";
      button.className += " md-button" + (action === "step" ? " md-button--primary" : "");
      button.setAttribute("data-action", action);
      button.textContent = strings[action];
      actions.appendChild(button);
      buttons[action] = button;
    });
    board.appendChild(actions);
    app.appendChild(board);

    var explanation = el("div", "explanation");
    explanation.setAttribute("data-explanation", "");
    explanation.setAttribute("aria-live", "polite");
    app.appendChild(explanation);

    var hopsLabel = el("p", "hops-label", strings.hops);
    hopsLabel.id = uid + "-hops";
    app.appendChild(hopsLabel);
    var list = el("ol", "hops");
    list.setAttribute("aria-labelledby", hopsLabel.id);
    app.appendChild(list);

    // --- the comparison --------------------------------------------------------------
    var compareWrap = el("div", "table-wrap");
    compareWrap.setAttribute("role", "region");
    compareWrap.setAttribute("tabindex", "0");
    compareWrap.setAttribute("aria-labelledby", uid + "-compare");
    var table = el("table", "table compare");
    table.setAttribute("data-compare", "");
    var caption = document.createElement("caption");
    caption.id = uid + "-compare";
    caption.textContent = strings.compare;
    table.appendChild(caption);
    var thead = document.createElement("thead");
    var headRow = document.createElement("tr");
    [strings.path].concat(COUNTERS.map(function (c) { return strings[c]; })).forEach(function (text) {
      var th = document.createElement("th");
      th.scope = "col";
      th.textContent = text;
      headRow.appendChild(th);
    });
    thead.appendChild(headRow);
    table.appendChild(thead);
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
        var wrap = el("span", "bar-track");
        wrap.setAttribute("aria-hidden", "true");
        wrap.appendChild(bar);
        td.appendChild(el("span", "total-value", String(t[c])));
        td.appendChild(wrap);
        row.appendChild(td);
      });
      tbody.appendChild(row);
      compareRows[p.id] = { row: row, mark: mark };
    });
    table.appendChild(tbody);
    compareWrap.appendChild(table);
    app.appendChild(compareWrap);
    app.appendChild(el("p", "note", strings.note));

    // --- behaviour ---------------------------------------------------------------------
    var items = [];

    function buildHops() {
      list.textContent = "";
      items = path.hops.map(function (hop, i) {
        var item = el("li", "hop");
        item.setAttribute("data-hop", String(i + 1));
        item.setAttribute("data-side", hop.side);
        var head = el("span", "hop-head");
        head.appendChild(el("span", "hop-where", hop.where));
        head.appendChild(el("span", "hop-side", strings.sides[hop.side]));
        item.appendChild(head);
        var tags = el("span", "hop-tags");
        COUNTERS.forEach(function (c) {
          if (hop[FLAG[c]]) {
            var tag = el("span", "tag tag--" + c, strings.plus[c]);
            tags.appendChild(tag);
          }
        });
        item.appendChild(tags);
        list.appendChild(item);
        return item;
      });
    }

    function render(announce) {
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
      buttons.back.disabled = position === 0;
      buttons.step.disabled = position === path.hops.length;
      Object.keys(compareRows).forEach(function (id) {
        var selected = id === path.id;
        compareRows[id].row.toggleAttribute("data-selected", selected);
        compareRows[id].mark.textContent = selected ? strings.current : "";
      });
      summary.textContent = path.summary;

      explanation.textContent = "";
      if (position === 0) {
        explanation.appendChild(el("p", "explain-start", strings.start(path.name, path.hops.length)));
        return;
      }
      var hop = path.hops[position - 1];
      var head = el("p", "explain-head");
      head.appendChild(el("span", "explain-position", strings.position(position, path.hops.length) + ": "));
      head.appendChild(el("strong", "", hop.where));
      if (hop.where.indexOf(strings.sides[hop.side]) === -1) {
        head.appendChild(el("span", "explain-side", strings.side(strings.sides[hop.side])));
      }
      explanation.appendChild(head);
      explanation.appendChild(el("p", "explain-text", hop.explain));
      var costs = COUNTERS.filter(function (c) { return hop[FLAG[c]]; }).map(function (c) { return strings.plus[c]; });
      explanation.appendChild(el("p", "explain-costs", costs.length ? strings.happens + ": " + costs.join(strings.join) : strings.none));
      if (position === path.hops.length) {
        explanation.appendChild(el("p", "explain-end", strings.end(totals)));
      }
    }

    function choose(p) {
      path = p;
      position = 0;
      buildHops();
      render();
    }

    function keepFocus(button) {
      // A button that became disabled loses focus: move it to the one that still works.
      if (document.activeElement === button && button.disabled) {
        (button === buttons.step ? buttons.back : buttons.step).focus();
      }
    }

    buttons.step.addEventListener("click", function () {
      if (position < path.hops.length) {
        position += 1;
        render();
      }
      keepFocus(buttons.step);
    });
    buttons.back.addEventListener("click", function () {
      if (position > 0) {
        position -= 1;
        render();
      }
      keepFocus(buttons.back);
    });
    buttons.reset.addEventListener("click", function () {
      position = 0;
      render();
    });

    root.querySelector("[data-static]").hidden = true;
    root.insertBefore(app, source);
    root.setAttribute("data-ready", "");
    buildHops();
    render();
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll('[data-widget="io-path"]'), setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
