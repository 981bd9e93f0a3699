/*
 * Quizzes and the chapter's progress panel (needs record.js).
 *
 * The markup comes from overrides/hooks/quiz.py: a root [data-quiz-id], inputs
 * [data-quiz-choice] (correct ones also [data-correct]), a [data-quiz-feedback]
 * live region, and a <details> with every choice's explanation that readers
 * without JavaScript open to see the answers. Here the details stay hidden until
 * the reader has answered.
 */
(function () {
  "use strict";

  var STRINGS = {
    ja: {
      check: "答え合わせ",
      retry: "もう一度",
      choose: "選択肢を選んでから答え合わせをしてください。",
      correct: "正解です。",
      incorrect: "不正解です。",
      yourChoice: "あなたの答え",
      rightAnswer: "正解",
      missed: "選ばなかった正解",
      allExplanations: "すべての選択肢の解説",
      earlier: function (correct) {
        return "以前の回答は" + (correct ? "正解" : "不正解") +
          "でした（別の言語のページで答えたか、答えたあとで問題が更新されています）。";
      },
      score: function (right, total) { return "この章のクイズ: " + total + "問中" + right + "問正解"; },
      noQuiz: "",
      markRead: "この章を読了にする",
      read: "読了しました（取り消す）",
      progressLink: "学習の記録を見る"
    },
    en: {
      check: "Check answer",
      retry: "Try again",
      choose: "Choose an answer first, then check it.",
      correct: "Correct.",
      incorrect: "Not quite.",
      yourChoice: "Your answer",
      rightAnswer: "Correct answer",
      missed: "Correct answer you did not choose",
      allExplanations: "Explanations for every choice",
      earlier: function (correct) {
        return "Your earlier answer was " + (correct ? "correct" : "incorrect") +
          " (given on the page in another language, or before the question was updated).";
      },
      score: function (right, total) { return "Quiz in this chapter: " + right + " of " + total + " correct"; },
      noQuiz: "",
      markRead: "Mark this chapter as read",
      read: "Read (undo)",
      progressLink: "See your progress"
    }
  };

  var record = window.KasoukaRecord;
  var strings = STRINGS[document.documentElement.lang === "ja" ? "ja" : "en"];

  function inputs(root) {
    return Array.prototype.slice.call(root.querySelectorAll("input[data-quiz-choice]"));
  }

  function keysOf(list) {
    return list.map(function (input) { return input.getAttribute("data-quiz-choice"); });
  }

  function sameSet(a, b) {
    return a.length === b.length && a.every(function (key) { return b.indexOf(key) !== -1; });
  }

  /* One explanation from the answers list, as a block for the feedback. */
  function explanation(root, key, label) {
    var item = root.querySelector('[data-quiz-answer="' + key + '"]');
    var block = document.createElement("div");
    block.className = "quiz__explanation quiz__explanation--" +
      (item.getAttribute("data-correct") === "true" ? "correct" : "incorrect");
    var head = document.createElement("p");
    var strong = document.createElement("strong");
    strong.textContent = label + ": ";
    head.appendChild(strong);
    head.appendChild(item.querySelector(".quiz__answer-choice").cloneNode(true));
    block.appendChild(head);
    Array.prototype.slice.call(item.children, 1).forEach(function (child) {
      block.appendChild(child.cloneNode(true));
    });
    return block;
  }

  function setupQuiz(root) {
    var id = root.getAttribute("data-quiz-id");
    var feedback = root.querySelector("[data-quiz-feedback]");
    var answers = root.querySelector(".quiz__answers");
    var summary = answers.querySelector("summary");
    var correctKeys = keysOf(inputs(root).filter(function (input) { return input.hasAttribute("data-correct"); }));

    answers.hidden = true;
    summary.textContent = strings.allExplanations;

    var actions = document.createElement("div");
    actions.className = "quiz__actions";
    var check = document.createElement("button");
    check.type = "button";
    check.className = "md-button md-button--primary";
    check.textContent = strings.check;
    var retry = document.createElement("button");
    retry.type = "button";
    retry.className = "md-button";
    retry.textContent = strings.retry;
    retry.hidden = true;
    actions.appendChild(check);
    actions.appendChild(retry);
    feedback.parentNode.insertBefore(actions, feedback);

    function show(chosen) {
      var correct = sameSet(chosen, correctKeys);
      root.setAttribute("data-quiz-state", correct ? "correct" : "incorrect");
      inputs(root).forEach(function (input) {
        var key = input.getAttribute("data-quiz-choice");
        input.checked = chosen.indexOf(key) !== -1;
        input.disabled = true;
        var label = input.closest(".quiz__choice");
        label.classList.toggle("quiz__choice--correct", correctKeys.indexOf(key) !== -1);
        label.classList.toggle("quiz__choice--chosen", input.checked);
      });
      feedback.textContent = "";
      var verdict = document.createElement("p");
      verdict.className = "quiz__verdict";
      verdict.textContent = correct ? strings.correct : strings.incorrect;
      feedback.appendChild(verdict);
      chosen.forEach(function (key) {
        feedback.appendChild(explanation(root, key, strings.yourChoice));
      });
      if (!correct) {
        correctKeys.filter(function (key) { return chosen.indexOf(key) === -1; }).forEach(function (key) {
          feedback.appendChild(explanation(root, key, chosen.length ? strings.missed : strings.rightAnswer));
        });
      }
      answers.hidden = false;
      check.hidden = true;
      retry.hidden = false;
    }

    check.addEventListener("click", function () {
      var chosen = keysOf(inputs(root).filter(function (input) { return input.checked; }));
      if (!chosen.length) {
        feedback.textContent = strings.choose;
        return;
      }
      show(chosen);
      record.answer(id, chosen, sameSet(chosen, correctKeys));
      retry.focus();
    });

    retry.addEventListener("click", function () {
      root.removeAttribute("data-quiz-state");
      inputs(root).forEach(function (input) {
        input.checked = false;
        input.disabled = false;
        var label = input.closest(".quiz__choice");
        label.classList.remove("quiz__choice--correct", "quiz__choice--chosen");
      });
      feedback.textContent = "";
      answers.hidden = true;
      answers.open = false;
      retry.hidden = true;
      check.hidden = false;
      inputs(root)[0].focus();
    });

    // Restore the last answer. Choice keys are hashes of the choice text, so they
    // survive reordering but not translation or rewording: then show the verdict only.
    var saved = record.question(id);
    if (saved && saved.answer.length) {
      var known = keysOf(inputs(root));
      if (saved.answer.every(function (key) { return known.indexOf(key) !== -1; })) {
        show(saved.answer);
      } else {
        root.setAttribute("data-quiz-state", saved.correct ? "correct" : "incorrect");
        feedback.textContent = "";
        var note = document.createElement("p");
        note.className = "quiz__verdict";
        note.textContent = strings.earlier(saved.correct);
        feedback.appendChild(note);
        check.hidden = true;
        retry.hidden = false;
      }
    }
  }

  function setupPanel(panel) {
    var slug = panel.getAttribute("data-page");
    var tracked = panel.getAttribute("data-tracked") === "true";
    var ids = Array.prototype.map.call(document.querySelectorAll("[data-quiz-id]"), function (root) {
      return root.getAttribute("data-quiz-id");
    });
    var score = panel.querySelector("[data-chapter-score]");
    var toggle = panel.querySelector("[data-read-toggle]");
    panel.querySelector("[data-progress-link]").textContent = strings.progressLink;

    function render() {
      if (ids.length) {
        var right = ids.filter(function (id) {
          var saved = record.question(id);
          return saved && saved.correct;
        }).length;
        score.textContent = strings.score(right, ids.length);
      }
      score.hidden = !ids.length;
      toggle.hidden = !tracked;
      var read = record.isRead(slug);
      toggle.setAttribute("aria-pressed", String(read));
      toggle.textContent = read ? strings.read : strings.markRead;
    }

    toggle.addEventListener("click", function () {
      record.setRead(slug, !record.isRead(slug));
    });
    record.onChange(render);
    render();
    panel.hidden = false;
  }

  function setup() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-quiz-id]"), setupQuiz);
    Array.prototype.forEach.call(document.querySelectorAll("[data-chapter-progress]"), setupPanel);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
