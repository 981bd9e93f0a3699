/*
 * The trap-and-emulate stepper: step a few instructions of guest kernel code under
 * pure trap-and-emulate, binary translation and Intel VT-x.
 *
 * The markup comes from overrides/hooks/trap_and_emulate.py: a root
 * [data-widget="trap-and-emulate"] holding a static table of every instruction
 * under every strategy ([data-static], for readers without JavaScript) and the
 * data as <script type="application/json" data-trap-and-emulate-data>, in the
 * page's language. Here the table is hidden and replaced by the stepper:
 *   - a radio button per strategy ([data-strategy="<id>"]);
 *   - the listing, one <li data-step="<n>"> per instruction, aria-current="step"
 *     on the instruction just executed;
 *   - buttons [data-action="step|back|reset"] (aria-disabled at either end, so
 *     that keyboard focus never falls off a disabled button);
 *   - counters [data-counter="traps|exits|translations"] for the chosen strategy;
 *   - the explanation panel [data-explanation] (aria-live);
 *   - on the root, data-guest-state="correct|wrong": wrong once an executed
 *     instruction has left the guest with a view that real hardware would not give.
 * The state is the chosen strategy and how many instructions have run; switching
 * strategy keeps the position and shows the same instructions under the other
 * strategy. Nothing is stored.
 */
(function () {
  "use strict";

  var STRINGS = {
    ja: {
      intro: "ゲストOSのカーネルのコードを1命令ずつ実行し、方式によって何が起きるかを比べます。方式を選び、「1命令進む」を押してください。方式は途中で切り替えられます。そのときは、同じ位置までをその方式で実行した結果に変わります。",
      strategy: "方式",
      step: "1命令進む",
      back: "1命令戻る",
      reset: "最初から",
      position: function (n, total) { return "実行した命令: " + total + "個中" + n + "個"; },
      counters: function (label) { return label + "での回数"; },
      counterLabels: { traps: "トラップ", exits: "VM exit", translations: "置き換えた命令" },
      times: "回",
      guestCorrect: "ゲストの状態: 実機と同じように動いています。",
      guestWrong: function (lines) {
        return "ゲストの状態: 誤っています。ゲストも気づいていません（" + lines + "）。";
      },
      lineN: function (n) { return n + "行目"; },
      lineTitle: function (n, total) { return n + "行目（" + total + "行中）"; },
      join: "、",
      startTitle: "まだ何も実行していません。",
      start: "「1命令進む」を押すと、1行目から順に実行します。",
      running: function (label) { return label + "で実行"; },
      fields: {
        control: "VMMへの移行",
        cpu: "CPUの動作",
        vmm: "VMMの処理",
        view: "ゲストから見た結果",
        depends: "設定による違い"
      },
      correct: "正しい",
      wrong: "誤り（ゲストは気づきません）",
      verdictEnd: "。",
      endTitle: "プログラムの終わりです。方式ごとの合計は次のとおりです。",
      total: function (parts) { return parts.length ? parts.join("、") : "VMMへの移行なし"; },
      count: function (name, n) { return { traps: "トラップ", exits: "VM exit", translations: "置き換えた命令" }[name] + n + "回"; },
      wrongAt: function (lines) { return "ゲストが誤る命令は" + lines; },
      sentence: function (label, text) { return label + ": " + text; },
      stillWrong: "誤り",
      executed: "（実行済み）"
    },
    en: {
      intro: "Run guest OS kernel code one instruction at a time and compare what happens under each strategy. Choose a strategy and press “Step”. You can switch strategy at any point: the widget then shows the same instructions run under the other strategy.",
      strategy: "Strategy",
      step: "Step",
      back: "Back",
      reset: "Reset",
      position: function (n, total) { return "Instructions run: " + n + " of " + total; },
      counters: function (label) { return "Counts under " + label; },
      counterLabels: { traps: "Traps", exits: "VM exits", translations: "Replaced instructions" },
      times: "",
      guestCorrect: "Guest state: running as it would on real hardware.",
      guestWrong: function (lines) {
        return "Guest state: wrong, and the guest has not noticed (" + lines + ").";
      },
      lineN: function (n) { return "line " + n; },
      lineTitle: function (n, total) { return "Line " + n + " of " + total; },
      join: ", ",
      startTitle: "Nothing has run yet.",
      start: "Press “Step” to run the program from line 1.",
      running: function (label) { return "Running under " + label; },
      fields: {
        control: "Entry into the VMM",
        cpu: "What the CPU does",
        vmm: "What the VMM does",
        view: "What the guest sees",
        depends: "Depends on the configuration"
      },
      correct: "Correct",
      wrong: "Wrong (the guest does not notice)",
      verdictEnd: ". ",
      endTitle: "End of the program. The totals for each strategy:",
      total: function (parts) { return parts.length ? parts.join(", ") : "no entry into the VMM"; },
      count: function (name, n) {
        return n + " " + { traps: "trap", exits: "VM exit", translations: "replaced instruction" }[name] + (n === 1 ? "" : "s");
      },
      wrongAt: function (lines) { return "the guest goes wrong at " + lines; },
      sentence: function (label, text) { return label + ": " + text; },
      stillWrong: "wrong",
      executed: " (executed)"
    }
  };

  var PREFIX = "trap-and-emulate__";
  var COUNTER_ORDER = ["traps", "exits", "translations"];

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

  function setup(root, index) {
    var source = root.querySelector("script[data-trap-and-emulate-data]");
    if (!source) {
      return;
    }
    var data = JSON.parse(source.textContent);
    var strings = STRINGS[data.lang] || STRINGS.en;
    var uid = root.id || "trap-and-emulate-" + (index + 1);
    var program = data.instructions;
    var total = program.length;
    var state = { strategy: data.strategies[0].id, position: 0 };

    function strategyById(id) {
      for (var i = 0; i < data.strategies.length; i++) {
        if (data.strategies[i].id === id) {
          return data.strategies[i];
        }
      }
      return data.strategies[0];
    }

    /* Counts and wrong lines for the first `upTo` instructions under a strategy. */
    function tally(strategyId, upTo) {
      var counts = { traps: 0, exits: 0, translations: 0 };
      var wrong = [];
      for (var i = 0; i < upTo; i++) {
        var cell = program[i].cells[strategyId];
        var counter = data.counters[cell.control];
        if (counter) {
          counts[counter] += 1;
        }
        if (cell.guest === "wrong") {
          wrong.push(i + 1);
        }
      }
      return { counts: counts, wrong: wrong };
    }

    function lineList(numbers) {
      return numbers.map(function (n) { return strings.lineN(n) + " " + program[n - 1].code; }).join(strings.join);
    }

    // --- build the stepper ------------------------------------------------------

    var app = el("div", "app");
    app.appendChild(el("p", "intro", strings.intro));

    var picker = el("fieldset", "picker");
    picker.appendChild(el("legend", "picker-legend", strings.strategy));
    var pickerOptions = el("div", "picker-options");
    var radios = {};
    data.strategies.forEach(function (strategy) {
      var label = el("label", "choice");
      var input = document.createElement("input");
      input.type = "radio";
      input.name = uid + "-strategy";
      input.value = strategy.id;
      input.setAttribute("data-strategy", strategy.id);
      input.checked = strategy.id === state.strategy;
      input.addEventListener("change", function () {
        if (input.checked) {
          state.strategy = strategy.id;
          render(true);
        }
      });
      label.appendChild(input);
      label.appendChild(el("span", "choice-text", strategy.label));
      pickerOptions.appendChild(label);
      radios[strategy.id] = input;
    });
    picker.appendChild(pickerOptions);
    var about = el("div", "about");
    about.id = uid + "-about";
    picker.setAttribute("aria-describedby", about.id);
    picker.appendChild(about);
    app.appendChild(picker);

    var layout = el("div", "layout");

    var column = el("div", "program-column");
    var caption = el("p", "program-title", data.program);
    caption.id = uid + "-program";
    column.appendChild(caption);
    var listing = el("ol", "listing");
    listing.setAttribute("aria-labelledby", caption.id);
    var lines = program.map(function (instruction, i) {
      var item = el("li", "line");
      item.setAttribute("data-step", String(i + 1));
      item.setAttribute("data-kind", instruction.kind);
      var number = el("span", "line-number", String(i + 1));
      number.setAttribute("aria-hidden", "true");
      item.appendChild(number);
      var body = el("span", "line-body");
      var code = el("code", "code", instruction.code);
      body.appendChild(code);
      body.appendChild(el("span", "comment", "; " + instruction.comment));
      item.appendChild(body);
      var tags = el("span", "tags");
      var kind = el("span", "kind", data.kinds[instruction.kind].short);
      kind.title = data.kinds[instruction.kind].label;
      tags.appendChild(kind);
      var result = el("span", "result");
      result.setAttribute("data-result", "");
      tags.appendChild(result);
      tags.appendChild(el("span", "sr"));
      item.appendChild(tags);
      listing.appendChild(item);
      return item;
    });
    column.appendChild(listing);
    layout.appendChild(column);

    var side = el("div", "side");
    var actions = el("div", "actions");
    function button(action, text, primary) {
      var node = el("button", "button", text);
      node.type = "button";
      node.className += " md-button" + (primary ? " md-button--primary" : "");
      node.setAttribute("data-action", action);
      actions.appendChild(node);
      return node;
    }
    var back = button("back", strings.back, false);
    var step = button("step", strings.step, true);
    var reset = button("reset", strings.reset, false);
    side.appendChild(actions);
    var position = el("p", "position");
    position.setAttribute("data-position", "");
    side.appendChild(position);

    var status = el("div", "status");
    var countersTitle = el("p", "counters-title");
    countersTitle.id = uid + "-counters";
    status.appendChild(countersTitle);
    var counterList = el("ul", "counters");
    counterList.setAttribute("aria-labelledby", countersTitle.id);
    var counters = {};
    COUNTER_ORDER.forEach(function (name) {
      var item = el("li", "counter");
      item.setAttribute("data-counter-item", name);
      item.appendChild(el("span", "counter-label", strings.counterLabels[name]));
      var value = el("span", "counter-value", "0");
      value.setAttribute("data-counter", name);
      item.appendChild(value);
      if (strings.times) {
        item.appendChild(el("span", "counter-unit", strings.times));
      }
      counterList.appendChild(item);
      counters[name] = item;
    });
    status.appendChild(counterList);
    var guest = el("p", "guest");
    guest.setAttribute("data-guest-status", "");
    status.appendChild(guest);
    side.appendChild(status);

    var panel = el("div", "panel");
    panel.setAttribute("data-explanation", "");
    panel.setAttribute("aria-live", "polite");
    panel.setAttribute("aria-atomic", "true");
    side.appendChild(panel);
    layout.appendChild(side);
    app.appendChild(layout);

    if (data.note) {
      app.appendChild(el("p", "note", data.note));
    }

    // --- behaviour ----------------------------------------------------------------

    function setEnabled(node, enabled) {
      if (enabled) {
        node.removeAttribute("aria-disabled");
      } else {
        node.setAttribute("aria-disabled", "true");
      }
    }

    function field(list, name, content) {
      var dt = el("dt", "field", strings.fields[name]);
      var dd = el("dd", "value");
      dd.setAttribute("data-field", name);
      if (typeof content === "string") {
        dd.textContent = content;
      } else {
        dd.appendChild(content);
      }
      list.appendChild(dt);
      list.appendChild(dd);
      return dd;
    }

    function totalText(strategy) {
      var result = tally(strategy.id, total);
      var parts = [];
      strategy.events.forEach(function (event) {
        var name = data.counters[event];
        if (result.counts[name]) {
          parts.push(strings.count(name, result.counts[name]));
        }
      });
      var text = strings.total(parts);
      if (result.wrong.length) {
        text += strings.join + strings.wrongAt(lineList(result.wrong));
      }
      return { text: text, wrong: result.wrong.length > 0 };
    }

    function renderPanel(strategy) {
      panel.textContent = "";
      panel.removeAttribute("data-control");
      if (state.position === 0) {
        panel.appendChild(el("p", "panel-title", strings.startTitle));
        panel.appendChild(el("p", "panel-text", strings.start));
        return;
      }
      var instruction = program[state.position - 1];
      var cell = instruction.cells[strategy.id];
      panel.setAttribute("data-control", cell.control);
      var title = el("p", "panel-title");
      title.appendChild(el("span", "panel-line", strings.lineTitle(state.position, total)));
      title.appendChild(document.createTextNode(" "));
      title.appendChild(el("code", "panel-code", instruction.code));
      title.appendChild(document.createTextNode(" "));
      title.appendChild(el("span", "kind", data.kinds[instruction.kind].label));
      panel.appendChild(title);
      panel.appendChild(el("p", "panel-strategy", strings.running(strategy.label)));

      var list = el("dl", "fields");
      var control = el("span", "control", data.controls[cell.control]);
      control.setAttribute("data-control", cell.control);
      field(list, "control", control);
      field(list, "cpu", cell.cpu);
      field(list, "vmm", cell.vmm);
      var view = document.createDocumentFragment();
      var verdict = el("strong", "verdict verdict--" + cell.guest, cell.guest === "wrong" ? strings.wrong : strings.correct);
      view.appendChild(verdict);
      view.appendChild(document.createTextNode(strings.verdictEnd + cell.view));
      var viewCell = field(list, "view", view);
      viewCell.setAttribute("data-guest", cell.guest);
      viewCell.className += " " + PREFIX + "value--" + cell.guest;
      if (cell.depends) {
        field(list, "depends", cell.depends);
      }
      panel.appendChild(list);

      if (state.position === total) {
        var summary = el("div", "summary");
        summary.setAttribute("data-summary", "");
        summary.appendChild(el("p", "summary-title", strings.endTitle));
        var items = el("ul", "summary-list");
        data.strategies.forEach(function (other) {
          var result = totalText(other);
          var item = el("li", "summary-item" + (result.wrong ? " summary-item--wrong" : ""));
          item.setAttribute("data-summary-strategy", other.id);
          item.textContent = strings.sentence(other.label, result.text);
          items.appendChild(item);
        });
        summary.appendChild(items);
        panel.appendChild(summary);
      }
    }

    function render(announce) {
      var strategy = strategyById(state.strategy);
      var result = tally(strategy.id, state.position);

      about.textContent = "";
      about.appendChild(el("p", "about-text", strategy.about));
      if (strategy.assumption) {
        about.appendChild(el("p", "assumption", strategy.assumption));
      }

      lines.forEach(function (item, i) {
        var n = i + 1;
        var cell = program[i].cells[strategy.id];
        var done = n <= state.position;
        item.toggleAttribute("data-done", done);
        if (n === state.position) {
          item.setAttribute("aria-current", "step");
        } else {
          item.removeAttribute("aria-current");
        }
        var badge = item.querySelector("[data-result]");
        var sr = item.querySelector("." + PREFIX + "sr");
        badge.textContent = "";
        badge.removeAttribute("data-control");
        item.removeAttribute("data-guest");
        sr.textContent = "";
        if (done) {
          sr.textContent = strings.executed;
          if (cell.control !== "none") {
            badge.textContent = data.controls[cell.control];
            badge.setAttribute("data-control", cell.control);
          }
          if (cell.guest === "wrong") {
            item.setAttribute("data-guest", "wrong");
            badge.textContent = badge.textContent ? badge.textContent + strings.join + strings.stillWrong : strings.stillWrong;
            badge.setAttribute("data-control", cell.control === "none" ? "wrong" : cell.control);
          }
        }
      });

      countersTitle.textContent = strings.counters(strategy.label);
      COUNTER_ORDER.forEach(function (name) {
        counters[name].querySelector("[data-counter]").textContent = String(result.counts[name]);
        counters[name].toggleAttribute("data-active", result.counts[name] > 0);
      });

      var wrong = result.wrong.length > 0;
      root.setAttribute("data-guest-state", wrong ? "wrong" : "correct");
      root.setAttribute("data-position", String(state.position));
      root.setAttribute("data-current-strategy", strategy.id);
      guest.setAttribute("data-guest-status", wrong ? "wrong" : "correct");
      guest.textContent = wrong ? strings.guestWrong(lineList(result.wrong)) : strings.guestCorrect;

      position.textContent = strings.position(state.position, total);
      setEnabled(back, state.position > 0);
      setEnabled(reset, state.position > 0);
      setEnabled(step, state.position < total);

      if (announce) {
        renderPanel(strategy);
      }
    }

    step.addEventListener("click", function () {
      if (state.position < total) {
        state.position += 1;
        render(true);
      }
    });
    back.addEventListener("click", function () {
      if (state.position > 0) {
        state.position -= 1;
        render(true);
      }
    });
    reset.addEventListener("click", function () {
      if (state.position > 0) {
        state.position = 0;
        render(true);
      }
    });

    root.querySelector("[data-static]").hidden = true;
    root.insertBefore(app, source);
    root.classList.add(PREFIX.replace(/__$/, "") + "--ready");
    render(true);
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll('[data-widget="trap-and-emulate"]'), setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
