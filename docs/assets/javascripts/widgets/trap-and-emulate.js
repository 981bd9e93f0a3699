/* The trap-and-emulate stepper (hook: overrides/hooks/trap_and_emulate.py; kit: _kit.js):
   guest kernel code under three strategies. Radios [data-strategy]; the listing
   [data-step] (aria-current on the last run); counters [data-counter]; the panel
   [data-explanation]; on the root data-guest-state="correct|wrong". The state is how many
   instructions have run; the strategy is a setting, so switching keeps the position. */
WidgetKit.define("trap-and-emulate", function (w) {
  "use strict";

  var COUNTER_ORDER = ["traps", "exits", "translations"];
  var data = w.data;
  var el = w.el.bind(w);
  var program = data.instructions;
  var total = program.length;
  var strategy = data.strategies[0];

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
    return numbers.map(function (n) { return w.t("lineN", { n: n }) + " " + program[n - 1].code; }).join(w.t("join"));
  }

  // The stepper.

  var app = w.app();
  var picker = w.choices({ name: "strategy", attribute: "data-strategy", legend: w.t("strategy"),
    items: data.strategies, checked: strategy.id,
    change: function (id) {
      strategy = strategyById(id);
      stepper.refresh();
    } });
  var about = el("div", "about");
  about.id = w.uid + "-about";
  picker.setAttribute("aria-describedby", about.id);
  picker.appendChild(about);
  app.appendChild(picker);

  var layout = el("div", "layout");

  var column = el("div", "program-column");
  var caption = el("p", "program-title", data.program);
  caption.id = w.uid + "-program";
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
    body.appendChild(el("code", "code", instruction.code));
    body.appendChild(el("span", "comment", "; " + instruction.comment));
    item.appendChild(body);
    var tags = el("span", "tags");
    var kind = el("span", "kind", w.t("kind." + instruction.kind + ".short"));
    kind.title = w.t("kind." + instruction.kind);
    tags.appendChild(kind);
    var result = el("span", "result");
    result.setAttribute("data-result", "");
    tags.appendChild(result);
    tags.appendChild(el("span", "widget__sr"));
    item.appendChild(tags);
    listing.appendChild(item);
    return item;
  });
  column.appendChild(listing);
  layout.appendChild(column);

  var side = el("div", "side");
  var stepper = w.stepper({
    actions: ["back", "step", "reset"],
    first: function () { return 0; },
    more: function (position) { return position < total; },
    next: function (position) { return position + 1; },
    render: render
  });
  side.appendChild(stepper.node);
  var position = el("p", "position");
  position.setAttribute("data-position", "");
  side.appendChild(position);

  var status = el("div", "status");
  var countersTitle = el("p", "counters-title");
  countersTitle.id = w.uid + "-counters";
  status.appendChild(countersTitle);
  var counterList = el("ul", "counters");
  counterList.setAttribute("aria-labelledby", countersTitle.id);
  var counters = {};
  COUNTER_ORDER.forEach(function (name) {
    var item = el("li", "counter");
    item.setAttribute("data-counter-item", name);
    item.appendChild(el("span", "counter-label", w.t("counter." + name)));
    var value = el("span", "counter-value widget__counter-value", "0");
    value.setAttribute("data-counter", name);
    item.appendChild(value);
    if (w.t("times")) {
      item.appendChild(el("span", "counter-unit", w.t("times")));
    }
    counterList.appendChild(item);
    counters[name] = item;
  });
  status.appendChild(counterList);
  var guest = el("p", "guest");
  guest.setAttribute("data-guest-status", "");
  status.appendChild(guest);
  side.appendChild(status);

  var panel = w.live("div", "panel");
  panel.setAttribute("data-explanation", "");
  panel.setAttribute("aria-atomic", "true");
  side.appendChild(panel);
  layout.appendChild(side);
  app.appendChild(layout);

  if (data.note) {
    app.appendChild(el("p", "note", data.note));
  }

  // Rendering.

  function field(list, name, content) {
    var dt = el("dt", "field", w.t("field." + name));
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

  function totalText(other) {
    var result = tally(other.id, total);
    var parts = [];
    other.events.forEach(function (event) {
      var name = data.counters[event];
      if (result.counts[name]) {
        parts.push(w.t("count." + name, { n: result.counts[name] }));
      }
    });
    var text = parts.length ? parts.join(w.t("join")) : w.t("noEntry");
    if (result.wrong.length) {
      text += w.t("join") + w.t("wrongAt", { lines: lineList(result.wrong) });
    }
    return { text: text, wrong: result.wrong.length > 0 };
  }

  function renderPanel(at) {
    panel.textContent = "";
    panel.removeAttribute("data-control");
    if (at === 0) {
      panel.appendChild(el("p", "panel-title", w.t("startTitle")));
      panel.appendChild(el("p", "panel-text", w.t("start")));
      return;
    }
    var instruction = program[at - 1];
    var cell = instruction.cells[strategy.id];
    panel.setAttribute("data-control", cell.control);
    var title = el("p", "panel-title");
    title.appendChild(el("span", "panel-line", w.t("lineTitle", { n: at, total: total })));
    title.appendChild(document.createTextNode(" "));
    title.appendChild(el("code", "panel-code", instruction.code));
    title.appendChild(document.createTextNode(" "));
    title.appendChild(el("span", "kind", w.t("kind." + instruction.kind)));
    panel.appendChild(title);
    panel.appendChild(el("p", "panel-strategy", w.t("running", { label: strategy.label })));

    var list = el("dl", "fields");
    var control = el("span", "control", w.t("control." + cell.control));
    control.setAttribute("data-control", cell.control);
    field(list, "control", control);
    field(list, "cpu", cell.cpu);
    field(list, "vmm", cell.vmm);
    var view = document.createDocumentFragment();
    view.appendChild(el("strong", "verdict verdict--" + cell.guest, w.t("verdict." + cell.guest)));
    view.appendChild(document.createTextNode(w.t("verdictEnd") + cell.view));
    var viewCell = field(list, "view", view);
    viewCell.setAttribute("data-guest", cell.guest);
    viewCell.className += " trap-and-emulate__value--" + cell.guest;
    if (cell.depends) {
      field(list, "depends", cell.depends);
    }
    panel.appendChild(list);

    if (at === total) {
      var summary = el("div", "summary");
      summary.setAttribute("data-summary", "");
      summary.appendChild(el("p", "summary-title", w.t("endTitle")));
      var items = el("ul", "summary-list");
      data.strategies.forEach(function (other) {
        var result = totalText(other);
        var item = el("li", "summary-item" + (result.wrong ? " summary-item--wrong" : ""));
        item.setAttribute("data-summary-strategy", other.id);
        item.textContent = w.t("sentence", { label: other.label, text: result.text });
        items.appendChild(item);
      });
      summary.appendChild(items);
      panel.appendChild(summary);
    }
  }

  function render(at) {
    var result = tally(strategy.id, at);

    about.textContent = "";
    about.appendChild(el("p", "about-text", strategy.about));
    if (strategy.assumption) {
      about.appendChild(el("p", "assumption", strategy.assumption));
    }

    lines.forEach(function (item, i) {
      var n = i + 1;
      var cell = program[i].cells[strategy.id];
      var done = n <= at;
      item.toggleAttribute("data-done", done);
      if (n === at) {
        item.setAttribute("aria-current", "step");
      } else {
        item.removeAttribute("aria-current");
      }
      var badge = item.querySelector("[data-result]");
      var sr = item.querySelector(".widget__sr");
      badge.textContent = "";
      badge.removeAttribute("data-control");
      item.removeAttribute("data-guest");
      sr.textContent = "";
      if (done) {
        sr.textContent = w.t("executed");
        if (cell.control !== "none") {
          badge.textContent = w.t("control." + cell.control);
          badge.setAttribute("data-control", cell.control);
        }
        if (cell.guest === "wrong") {
          item.setAttribute("data-guest", "wrong");
          badge.textContent = badge.textContent ? badge.textContent + w.t("join") + w.t("stillWrong") : w.t("stillWrong");
          badge.setAttribute("data-control", cell.control === "none" ? "wrong" : cell.control);
        }
      }
    });

    countersTitle.textContent = w.t("countersTitle", { label: strategy.label });
    COUNTER_ORDER.forEach(function (name) {
      counters[name].querySelector("[data-counter]").textContent = String(result.counts[name]);
      counters[name].toggleAttribute("data-active", result.counts[name] > 0);
    });

    var wrong = result.wrong.length > 0;
    w.root.setAttribute("data-guest-state", wrong ? "wrong" : "correct");
    w.root.setAttribute("data-current-strategy", strategy.id);
    guest.setAttribute("data-guest-status", wrong ? "wrong" : "correct");
    guest.textContent = wrong ? w.t("guestWrong", { lines: lineList(result.wrong) }) : w.t("guestCorrect");

    position.textContent = w.t("position", { n: at, total: total });
    renderPanel(at);
  }

  w.mount(app);
  stepper.refresh();
});
