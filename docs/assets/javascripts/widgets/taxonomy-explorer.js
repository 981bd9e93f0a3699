/*
 * The taxonomy explorer: place real systems in the taxonomy of virtual machines.
 *
 * The markup comes from overrides/hooks/taxonomy_explorer.py: a root
 * [data-widget="taxonomy-explorer"] holding a static table with the answers
 * ([data-static], for readers without JavaScript) and the data as
 * <script type="application/json" data-taxonomy-data>, in the page's language.
 * Here the table is hidden and replaced by the exercise: a button per system
 * ([data-system]), a fieldset per axis ([data-axis]) of radio buttons
 * ([data-option]), a check button, and a live region ([data-feedback]) with the
 * verdict and the explanation for every axis. After checking, each fieldset has
 * data-state="correct|incorrect". Answers live only as long as the page.
 */
(function () {
  "use strict";

  var STRINGS = {
    ja: {
      intro: "実在のシステムを、仮想マシンの分類に当てはめてみましょう。システムを選び、4つの観点のそれぞれで答えを選んでから「答え合わせ」を押すと、正誤と理由が表示されます。いま一般的に使われている形について答えてください。",
      systems: "分類するシステム",
      check: "答え合わせ",
      retry: "もう一度",
      next: "次のシステムへ",
      reset: "すべてやり直す",
      missing: function (labels) {
        return "まだ答えていない観点があります（" + labels.join("、") + "）。すべての観点で答えを選んでから、答え合わせをしてください。";
      },
      summary: function (name, right, total) {
        return right === total ?
          name + ": " + total + "つの観点すべてが正解です。" :
          name + ": " + total + "つの観点のうち" + right + "つが正解です。";
      },
      correct: "正解",
      incorrect: "不正解",
      yourAnswer: "あなたの答え",
      rightAnswer: "正解",
      rightAnswers: "正解（どちらも可）",
      join: "、",
      score: function (systems, systemsTotal, axes, axesTotal) {
        return "すべての観点で正解したシステム: " + systemsTotal + "個中" + systems + "個（正解した観点: " +
          axesTotal + "個中" + axes + "個）";
      },
      doneRight: "（分類済み、すべて正解）",
      doneWrong: "（分類済み、不正解あり）",
      cleared: "すべての答えを消しました。最初のシステムから始められます。"
    },
    en: {
      intro: "Place real systems in the taxonomy of virtual machines. Pick a system, choose an answer on each of the four axes, then press “Check” to see what is right and why. Answer for the system as it is typically used today.",
      systems: "Systems to place",
      check: "Check",
      retry: "Try again",
      next: "Next system",
      reset: "Start over",
      missing: function (labels) {
        return "Some axes have no answer yet (" + labels.join(", ") + "). Choose an answer on every axis, then check.";
      },
      summary: function (name, right, total) {
        return right === total ?
          name + ": all " + total + " axes right." :
          name + ": " + right + " of " + total + " axes right.";
      },
      correct: "Correct",
      incorrect: "Incorrect",
      yourAnswer: "Your answer",
      rightAnswer: "Correct answer",
      rightAnswers: "Correct answers (either counts)",
      join: ", ",
      score: function (systems, systemsTotal, axes, axesTotal) {
        return "Systems placed right on every axis: " + systems + " of " + systemsTotal +
          " (axes right: " + axes + " of " + axesTotal + ")";
      },
      doneRight: " (placed, all right)",
      doneWrong: " (placed, some wrong)",
      cleared: "All answers cleared. You can start again from the first system."
    }
  };

  var PREFIX = "taxonomy-explorer__";

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
    var source = root.querySelector("script[data-taxonomy-data]");
    if (!source) {
      return;
    }
    var data = JSON.parse(source.textContent);
    var strings = STRINGS[data.lang] || STRINGS.en;
    var uid = root.id || "taxonomy-explorer-" + (index + 1);
    var systems = data.systems;
    var axes = data.axes;
    var state = {};  // system id -> {answers: {axis: option}, checked: bool, right: number}
    var current = null;

    function blank() {
      systems.forEach(function (system) {
        state[system.id] = { answers: {}, checked: false, right: 0 };
      });
    }
    blank();

    function optionLabel(axis, id) {
      for (var i = 0; i < axis.options.length; i++) {
        if (axis.options[i].id === id) {
          return axis.options[i].label;
        }
      }
      return id;
    }

    // --- build the exercise ---------------------------------------------------

    var app = el("div", "app");
    app.appendChild(el("p", "intro", strings.intro));

    var pickerLabel = el("p", "picker-label", strings.systems);
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
      button.appendChild(el("span", "sr"));
      button.addEventListener("click", function () { select(system.id); });
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
      var fieldset = el("fieldset", "axis");
      fieldset.setAttribute("data-axis", axis.id);
      var legend = el("legend", "legend");
      legend.appendChild(el("span", "axis-number", String(number + 1)));
      legend.appendChild(el("span", "axis-label", axis.label));
      var verdict = el("span", "verdict");
      verdict.setAttribute("data-verdict", "");
      legend.appendChild(verdict);
      fieldset.appendChild(legend);
      if (axis.hint) {
        var hint = el("p", "hint", axis.hint);
        hint.id = uid + "-" + axis.id + "-hint";
        fieldset.setAttribute("aria-describedby", hint.id);
        fieldset.appendChild(hint);
      }
      var options = el("div", "options");
      axis.options.forEach(function (option) {
        var label = el("label", "option");
        var input = document.createElement("input");
        input.type = "radio";
        input.name = uid + "-" + axis.id;
        input.value = option.id;
        input.setAttribute("data-option", option.id);
        input.addEventListener("change", function () {
          state[current].answers[axis.id] = option.id;
        });
        label.appendChild(input);
        label.appendChild(el("span", "option-text", option.label));
        options.appendChild(label);
      });
      fieldset.appendChild(options);
      form.appendChild(fieldset);
      fieldsets[axis.id] = fieldset;
    });

    var actions = el("div", "actions");
    var check = el("button", "check", strings.check);
    check.type = "submit";
    check.className += " md-button md-button--primary";
    var retry = el("button", "retry", strings.retry);
    retry.type = "button";
    retry.className += " md-button";
    var next = el("button", "next", strings.next);
    next.type = "button";
    next.className += " md-button md-button--primary";
    actions.appendChild(check);
    actions.appendChild(retry);
    actions.appendChild(next);
    form.appendChild(actions);

    var feedback = el("div", "feedback");
    feedback.setAttribute("data-feedback", "");
    feedback.setAttribute("aria-live", "polite");
    form.appendChild(feedback);
    app.appendChild(form);

    var footer = el("div", "footer");
    var score = el("p", "score");
    score.setAttribute("data-score", "");
    var reset = el("button", "reset", strings.reset);
    reset.type = "button";
    reset.className += " md-button";
    reset.setAttribute("data-reset", "");
    footer.appendChild(score);
    footer.appendChild(reset);
    app.appendChild(footer);

    // --- behaviour ----------------------------------------------------------------

    function systemById(id) {
      for (var i = 0; i < systems.length; i++) {
        if (systems[i].id === id) {
          return systems[i];
        }
      }
      return null;
    }

    function inputsOf(axisId) {
      return Array.prototype.slice.call(fieldsets[axisId].querySelectorAll("input[data-option]"));
    }

    function renderScore() {
      var placed = 0;
      var axesRight = 0;
      systems.forEach(function (system) {
        var entry = state[system.id];
        var button = buttons[system.id];
        if (entry.checked) {
          axesRight += entry.right;
          if (entry.right === axes.length) {
            placed += 1;
          }
          var allRight = entry.right === axes.length;
          button.setAttribute("data-result", allRight ? "correct" : "incorrect");
          button.querySelector("." + PREFIX + "system-mark").textContent = allRight ? "✓" : "✗";
          button.querySelector("." + PREFIX + "sr").textContent = allRight ? strings.doneRight : strings.doneWrong;
        } else {
          button.removeAttribute("data-result");
          button.querySelector("." + PREFIX + "system-mark").textContent = "";
          button.querySelector("." + PREFIX + "sr").textContent = "";
        }
      });
      score.textContent = strings.score(placed, systems.length, axesRight, systems.length * axes.length);
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
        fieldset.querySelector("[data-verdict]").textContent = isRight ? strings.correct : strings.incorrect;
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
      summary.textContent = strings.summary(system.name, right, axes.length);
      root.setAttribute("data-checked", "true");
      check.hidden = true;
      retry.hidden = false;
      next.hidden = false;
    }

    /* The verdict and explanation for one axis, after checking. */
    function resultBlock(system, axis, chosen) {
      var answer = system.answers[axis.id];
      var right = answer.correct.indexOf(chosen) !== -1;
      var block = el("div", "result " + (right ? "result--correct" : "result--incorrect"));
      block.setAttribute("data-feedback-axis", axis.id);
      var head = el("p", "result-head");
      head.appendChild(el("span", "result-axis", axis.label));
      head.appendChild(document.createTextNode(": "));
      head.appendChild(el("strong", "result-verdict", right ? strings.correct : strings.incorrect));
      block.appendChild(head);
      var answers = el("p", "result-answers");
      answers.appendChild(document.createTextNode(strings.yourAnswer + ": " + optionLabel(axis, chosen)));
      if (!right || answer.correct.length > 1) {
        answers.appendChild(document.createElement("br"));
        var labels = answer.correct.map(function (id) { return optionLabel(axis, id); });
        answers.appendChild(document.createTextNode(
          (answer.correct.length > 1 ? strings.rightAnswers : strings.rightAnswer) + ": " + labels.join(strings.join)
        ));
      }
      block.appendChild(answers);
      if (answer.notes && answer.notes[chosen]) {
        block.appendChild(el("p", "result-note", answer.notes[chosen]));
      }
      block.appendChild(el("p", "result-explain", answer.explain));
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
      var system = systemById(id);
      root.setAttribute("data-current", id);
      Object.keys(buttons).forEach(function (key) {
        buttons[key].setAttribute("aria-pressed", String(key === id));
      });
      name.textContent = system.name;
      about.textContent = system.about;
      if (state[id].checked) {
        showChecked(system);
      } else {
        showOpen(system);
      }
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (state[current].checked) {
        return;
      }
      var system = systemById(current);
      var missing = axes.filter(function (axis) { return !state[current].answers[axis.id]; });
      if (missing.length) {
        feedback.textContent = strings.missing(missing.map(function (axis) { return axis.label; }));
        inputsOf(missing[0].id)[0].focus();
        return;
      }
      state[current].checked = true;
      showChecked(system);
      renderScore();
      next.focus();
    });

    retry.addEventListener("click", function () {
      state[current] = { answers: {}, checked: false, right: 0 };
      showOpen(systemById(current));
      renderScore();
      inputsOf(axes[0].id)[0].focus();
    });

    next.addEventListener("click", function () {
      var position = 0;
      for (var i = 0; i < systems.length; i++) {
        if (systems[i].id === current) {
          position = i;
        }
      }
      select(systems[(position + 1) % systems.length].id);
      name.focus();
    });

    reset.addEventListener("click", function () {
      blank();
      select(systems[0].id);
      renderScore();
      feedback.textContent = strings.cleared;
      buttons[systems[0].id].focus();
    });

    root.querySelector("[data-static]").hidden = true;
    root.insertBefore(app, source);
    root.classList.add(PREFIX.replace(/__$/, "") + "--ready");
    select(systems[0].id);
    renderScore();
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll('[data-widget="taxonomy-explorer"]'), setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
