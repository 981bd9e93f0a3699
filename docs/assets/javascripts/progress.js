/*
 * /progress/: each page's state and score, the overall figures, and export,
 * import (validated; a bad file changes nothing) and reset (confirmed).
 * Needs record.js; the table itself comes from overrides/progress.html.
 */
(function () {
  "use strict";

  var STRINGS = {
    ja: {
      read: "読了",
      unread: "未読",
      noQuiz: "—",
      score: function (right, wrong, open, total) {
        return "正解" + right + "・不正解" + wrong + "・未回答" + open + "（全" + total + "問）";
      },
      summary: function (read, chapters, right, wrong, open, total) {
        var reading = chapters
          ? "公開中の" + chapters + "章のうち" + read + "章を読了（" + Math.round((read / chapters) * 100) + "%）。"
          : "読了の印を付けられる章はまだ公開されていません。";
        return reading + "クイズは全" + total + "問のうち、正解" + right + "問・不正解" + wrong + "問・未回答" + open + "問。";
      },
      exported: "学習の記録を書き出しました。",
      imported: "学習の記録を読み込みました。",
      resetDone: "学習の記録を消しました。",
      confirmReset: "学習の記録（読了の印とクイズの回答）をすべて消します。よろしいですか？",
      errors: {
        "not-json": "読み込めませんでした: JSONとして読めないファイルです。いまの記録はそのままです。",
        "not-a-record": "読み込めませんでした: このコースの学習の記録ではありません。いまの記録はそのままです。",
        "newer-version": "読み込めませんでした: より新しい版のサイトで書き出された記録です。いまの記録はそのままです。",
        "malformed": "読み込めませんでした: 記録の中身に誤りがあります。いまの記録はそのままです。",
        "unreadable": "読み込めませんでした: ファイルを読めませんでした。いまの記録はそのままです。"
      }
    },
    en: {
      read: "Read",
      unread: "Not read",
      noQuiz: "—",
      score: function (right, wrong, open, total) {
        return right + " correct, " + wrong + " wrong, " + open + " unanswered (of " + total + ")";
      },
      summary: function (read, chapters, right, wrong, open, total) {
        var reading = chapters
          ? "Read " + read + " of " + chapters + " published chapters (" + Math.round((read / chapters) * 100) + "%). "
          : "No chapter that can be marked as read has been published yet. ";
        return reading + "Quiz: of " + total + " questions, " + right + " correct, " + wrong + " wrong, " + open + " unanswered.";
      },
      exported: "Your learning record was exported.",
      imported: "Your learning record was imported.",
      resetDone: "Your learning record was reset.",
      confirmReset: "This deletes your whole learning record (read marks and quiz answers). Continue?",
      errors: {
        "not-json": "Not imported: the file is not JSON. Your current record is unchanged.",
        "not-a-record": "Not imported: the file is not a learning record of this course. Your current record is unchanged.",
        "newer-version": "Not imported: the record was exported by a newer version of this site. Your current record is unchanged.",
        "malformed": "Not imported: the record contains invalid entries. Your current record is unchanged.",
        "unreadable": "Not imported: the file could not be read. Your current record is unchanged."
      }
    }
  };

  var record = window.KasoukaRecord;
  var strings = STRINGS[document.documentElement.lang === "ja" ? "ja" : "en"];
  var app = document.querySelector("[data-progress]");
  if (!app) return;
  var message = app.querySelector("[data-progress-message]");

  function rows() {
    return Array.prototype.slice.call(app.querySelectorAll("[data-progress-page]"));
  }

  function render() {
    // Answered right, answered wrong and not answered are three different states:
    // "0 of 7" must not mean both "all wrong" and "not started".
    var chapters = 0, read = 0, right = 0, wrong = 0, open = 0, total = 0;
    rows().forEach(function (row) {
      var published = row.getAttribute("data-published") === "true";
      var tracked = row.getAttribute("data-tracked") === "true";
      var ids = row.getAttribute("data-quiz-ids").split(" ").filter(Boolean);
      var slug = row.getAttribute("data-progress-page");
      if (published && tracked) {
        chapters += 1;
        var isRead = record.isRead(slug);
        if (isRead) read += 1;
        row.querySelector("[data-progress-state]").textContent = isRead ? strings.read : strings.unread;
        row.setAttribute("data-read", String(isRead));
      }
      var counts = { right: 0, wrong: 0, open: 0 };
      ids.forEach(function (id) {
        var saved = record.question(id);
        counts[!saved ? "open" : saved.correct ? "right" : "wrong"] += 1;
      });
      right += counts.right;
      wrong += counts.wrong;
      open += counts.open;
      total += ids.length;
      row.querySelector("[data-progress-score]").textContent =
        ids.length ? strings.score(counts.right, counts.wrong, counts.open, ids.length) : strings.noQuiz;
    });
    app.querySelector("[data-progress-summary]").textContent =
      strings.summary(read, chapters, right, wrong, open, total);
  }

  function say(text, isError) {
    message.textContent = text;
    message.classList.toggle("progress-app__message--error", Boolean(isError));
  }

  app.querySelector("[data-progress-export]").addEventListener("click", function () {
    var date = new Date().toISOString().slice(0, 10);
    record.download("kasouka-record-" + date + ".json", record.exportText(), "application/json");
    say(strings.exported);
  });

  var fileInput = app.querySelector("[data-progress-import]");
  fileInput.addEventListener("change", function () {
    var file = fileInput.files && fileInput.files[0];
    if (!file) return;
    var reader = new FileReader();
    reader.onload = function () {
      try {
        record.importText(String(reader.result));
        say(strings.imported);
      } catch (error) {
        say(strings.errors[error.message] || strings.errors.malformed, true);
      }
      fileInput.value = "";
    };
    reader.onerror = function () {
      say(strings.errors.unreadable, true);
      fileInput.value = "";
    };
    reader.readAsText(file);
  });

  app.querySelector("[data-progress-reset]").addEventListener("click", function () {
    if (window.confirm(strings.confirmReset)) {
      record.reset();
      say(strings.resetDone);
    }
  });

  record.onChange(render);
  render();
  app.querySelector("[data-progress-actions]").hidden = false;
})();
