/* The taxonomy explorer (hook: overrides/hooks/taxonomy_explorer.py; kit: _kit.js): place
   real systems on four axes. A button per system [data-system], a fieldset per axis
   [data-axis] (data-state="correct|incorrect" once checked) of radios [data-option], the
   verdicts and explanations in [data-feedback] (aria-live). Each system's about, and each
   answer's explanation and notes, come from the static part (the page has them once). */
WidgetKit.define("taxonomy-explorer", function (w) {
  "use strict";

  var PREFIX = "taxonomy-explorer__";
  var root = w.root;
  var uid = w.uid;
  var systems = w.data.systems;
  var axes = w.data.axes;
  var byId = {};
  var state = {};  // system id -> {answers: {axis: option}, checked: bool, right: number}
  var current = null;
  var el = w.el.bind(w);

  function blank() {
    systems.forEach(function (system) {
      byId[system.id] = system;
      state[system.id] = { answers: {}, checked: false, right: 0 };
    });
  }
  blank();

  // The explanations are read from the static part: the page carries them once.
  function fromPage(systemId, selector) {
    var node = root.querySelector('details[data-system="' + systemId + '"] ' + selector);
    return node ? node.textContent : "";
  }

  function optionLabel(axis, id) {
    return axis.options.filter(function (option) { return option.id === id; })[0].label;
  }

  // Build the exercise.

  var app = w.app();

  var pickerLabel = el("p", "picker-label", w.t("systems"));
  pickerLabel.id = uid + "-systems";
  app.appendChild(pickerLabel);
  var picker = el("ul", "systems");
  picker.setAttribute("aria-labelledby", pickerLabel.id);
  var buttons = {};
  systems.forEach(function (system) {
    var item = document.createElement("li");
    var button = el("button", "system");
    button.type = "button";
    button.setAttribute("data-system", system.id);
    button.setAttribute("aria-pressed", "false");
    button.appendChild(el("span", "system-name", system.name));
    var mark = el("span", "system-mark");
    mark.setAttribute("aria-hidden", "true");
    button.appendChild(mark);
    button.appendChild(el("span", "widget__sr"));
    w.on(button, "click", function () { select(system.id); });
    item.appendChild(button);
    picker.appendChild(item);
    buttons[system.id] = button;
  });
  app.appendChild(picker);

  var form = el("form", "form");
  form.setAttribute("novalidate", "");
  var heading = el("div", "current");
  var name = el("p", "name");
  name.id = uid + "-name";
  name.tabIndex = -1;
  var about = el("p", "about");
  heading.appendChild(name);
  heading.appendChild(about);
  form.appendChild(heading);
  form.setAttribute("aria-labelledby", name.id);

  var fieldsets = {};
  axes.forEach(function (axis, number) {
    var legend = el("legend", "widget__legend");
    legend.appendChild(el("span", "axis-number", String(number + 1)));
    legend.appendChild(el("span", "axis-label", axis.label));
    var verdict = el("span", "verdict");
    verdict.setAttribute("data-verdict", "");
    legend.appendChild(verdict);
    var fieldset = w.choices({ classes: "axis", name: axis.id, attribute: "data-option", legend: legend,
      items: axis.options, change: function (id) { state[current].answers[axis.id] = id; } });
    fieldset.setAttribute("data-axis", axis.id);
    if (axis.hint) {
      var hint = el("p", "hint", axis.hint);
      hint.id = uid + "-" + axis.id + "-hint";
      fieldset.setAttribute("aria-describedby", hint.id);
      fieldset.insertBefore(hint, legend.nextSibling);
    }
    form.appendChild(fieldset);
    fieldsets[axis.id] = fieldset;
  });

  var actions = el("div", "actions");
  var check = w.button("check", w.t("check"), true);
  check.type = "submit";
  var retry = w.button("retry", w.t("retry"));
  var next = w.button("next", w.t("next"), true);
  actions.appendChild(check);
  actions.appendChild(retry);
  actions.appendChild(next);
  form.appendChild(actions);

  var feedback = w.live("div", "feedback");
  feedback.setAttribute("data-feedback", "");
  form.appendChild(feedback);
  app.appendChild(form);

  var footer = el("div", "footer");
  var score = el("p", "score");
  score.setAttribute("data-score", "");
  var reset = w.button("reset", w.t("reset"));
  reset.setAttribute("data-reset", "");
  footer.appendChild(score);
  footer.appendChild(reset);
  app.appendChild(footer);

  // Behaviour.

  function inputsOf(axisId) {
    return fieldsets[axisId].querySelectorAll("input");
  }

  function renderScore() {
    var placed = 0;
    var axesRight = 0;
    systems.forEach(function (system) {
      var entry = state[system.id];
      var button = buttons[system.id];
      var allRight = entry.right === axes.length;
      if (entry.checked) {
        axesRight += entry.right;
        placed += allRight ? 1 : 0;
        button.setAttribute("data-result", allRight ? "correct" : "incorrect");
      } else {
        button.removeAttribute("data-result");
      }
      button.querySelector("." + PREFIX + "system-mark").textContent = entry.checked ? (allRight ? "✓" : "✗") : "";
      button.querySelector(".widget__sr").textContent = entry.checked ? w.t(allRight ? "doneRight" : "doneWrong") : "";
    });
    score.textContent = w.t("score", { systems: placed, systemsTotal: systems.length, axes: axesRight, axesTotal: systems.length * axes.length });
  }

  function showChecked(system) {
    var entry = state[system.id];
    var right = 0;
    feedback.textContent = "";
    var summary = el("p", "summary");
    feedback.appendChild(summary);
    axes.forEach(function (axis) {
      var chosen = entry.answers[axis.id];
      var answer = system.answers[axis.id];
      var isRight = answer.correct.indexOf(chosen) !== -1;
      if (isRight) {
        right += 1;
      }
      var fieldset = fieldsets[axis.id];
      fieldset.setAttribute("data-state", isRight ? "correct" : "incorrect");
      fieldset.querySelector("[data-verdict]").textContent = w.t(isRight ? "correct" : "incorrect");
      inputsOf(axis.id).forEach(function (input) {
        var option = input.getAttribute("data-option");
        input.checked = option === chosen;
        input.disabled = true;
        var label = input.parentNode;
        label.classList.toggle(PREFIX + "option--correct", answer.correct.indexOf(option) !== -1);
        label.classList.toggle(PREFIX + "option--chosen", option === chosen);
      });
      feedback.appendChild(resultBlock(system, axis, chosen));
    });
    entry.right = right;
    summary.textContent = w.t(right === axes.length ? "summaryAll" : "summarySome", { name: system.name, right: right, total: axes.length });
    root.setAttribute("data-checked", "true");
    check.hidden = true;
    retry.hidden = false;
    next.hidden = false;
  }

  function resultBlock(system, axis, chosen) {
    var answer = system.answers[axis.id];
    var right = answer.correct.indexOf(chosen) !== -1;
    var block = el("div", "result " + (right ? "result--correct" : "result--incorrect"));
    block.setAttribute("data-feedback-axis", axis.id);
    var head = el("p", "result-head");
    head.appendChild(el("span", "result-axis", axis.label));
    head.appendChild(document.createTextNode(": "));
    head.appendChild(el("strong", "result-verdict", w.t(right ? "correct" : "incorrect")));
    block.appendChild(head);
    var answers = el("p", "result-answers");
    answers.appendChild(document.createTextNode(w.t("yourAnswer") + ": " + optionLabel(axis, chosen)));
    if (!right || answer.correct.length > 1) {
      answers.appendChild(document.createElement("br"));
      var labels = answer.correct.map(function (id) { return optionLabel(axis, id); });
      answers.appendChild(document.createTextNode(
        w.t(answer.correct.length > 1 ? "rightAnswers" : "rightAnswer") + ": " + labels.join(w.t("join"))
      ));
    }
    block.appendChild(answers);
    var note = fromPage(system.id, 'dd[data-axis="' + axis.id + '"] [data-note="' + chosen + '"] [data-note-text]');
    if (note) {
      block.appendChild(el("p", "result-note", note));
    }
    block.appendChild(el("p", "result-explain", fromPage(system.id, 'dd[data-axis="' + axis.id + '"] [data-explain]')));
    return block;
  }

  function showOpen(system) {
    var entry = state[system.id];
    feedback.textContent = "";
    root.removeAttribute("data-checked");
    axes.forEach(function (axis) {
      var fieldset = fieldsets[axis.id];
      fieldset.removeAttribute("data-state");
      fieldset.querySelector("[data-verdict]").textContent = "";
      inputsOf(axis.id).forEach(function (input) {
        input.checked = entry.answers[axis.id] === input.getAttribute("data-option");
        input.disabled = false;
        input.parentNode.classList.remove(PREFIX + "option--correct", PREFIX + "option--chosen");
      });
    });
    check.hidden = false;
    retry.hidden = true;
    next.hidden = true;
  }

  function select(id) {
    current = id;
    var system = byId[id];
    root.setAttribute("data-current", id);
    Object.keys(buttons).forEach(function (key) {
      buttons[key].setAttribute("aria-pressed", String(key === id));
    });
    name.textContent = system.name;
    about.textContent = fromPage(id, ".taxonomy-explorer__about");
    if (state[id].checked) {
      showChecked(system);
    } else {
      showOpen(system);
    }
  }

  w.on(form, "submit", function (event) {
    event.preventDefault();
    if (state[current].checked) {
      return;
    }
    var system = byId[current];
    var missing = axes.filter(function (axis) { return !state[current].answers[axis.id]; });
    if (missing.length) {
      feedback.textContent = w.t("missing", { labels: missing.map(function (axis) { return axis.label; }).join(w.t("join")) });
      inputsOf(missing[0].id)[0].focus();
      return;
    }
    state[current].checked = true;
    showChecked(system);
    renderScore();
    next.focus();
  });

  w.on(retry, "click", function () {
    state[current] = { answers: {}, checked: false, right: 0 };
    showOpen(byId[current]);
    renderScore();
    inputsOf(axes[0].id)[0].focus();
  });

  w.on(next, "click", function () {
    select(systems[(systems.indexOf(byId[current]) + 1) % systems.length].id);
    name.focus();
  });

  w.on(reset, "click", function () {
    blank();
    select(systems[0].id);
    renderScore();
    feedback.textContent = w.t("cleared");
    buttons[systems[0].id].focus();
  });

  w.mount(app);
  select(systems[0].id);
  renderScore();
});
