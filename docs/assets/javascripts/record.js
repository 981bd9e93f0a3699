/*
 * The learning record: one versioned object in localStorage for the whole site.
 *
 *   { version: 1,
 *     questions: { "<quiz id>": { correct, attempts, answer: [choice keys], at } },
 *     pages:     { "<page slug>": { read, at } } }
 *
 * Keyed by stable ids (quiz ids, page slugs), never by position, so it survives
 * site updates that add or reorder questions. Nothing the reader did is lost
 * silently: storage that cannot be read is set aside under another key (and kept
 * in memory for download), only the valid parts are used, and the reader is told.
 */
(function () {
  "use strict";

  var KEY = "kasouka.record";
  var SET_ASIDE_PREFIX = "kasouka.record.set-aside.";
  var VERSION = 1;
  var FORMAT = "kasouka-learning-record";

  var STRINGS = {
    ja: {
      corrupt: "保存されていた学習の記録の一部が読めなかったため、読めた部分だけを使っています。読めなかったデータは消さずに別に保存しました。",
      newer: "保存されていた学習の記録は、このページより新しい版のサイトで作られたものでした。消さずに別に保存し、ここでは新しい記録を始めています。",
      unavailable: "このブラウザーでは学習の記録を保存できません（プライベートモードやストレージの制限）。回答はこのページを閉じるまで有効です。",
      quota: "ストレージがいっぱいで、学習の記録を保存できませんでした。「学習の記録」ページから書き出しておくと、失われません。",
      download: "読めなかったデータを書き出す",
      title: "学習の記録について"
    },
    en: {
      corrupt: "Part of your saved learning record could not be read, so only the readable part is used. The unreadable data was kept aside, not deleted.",
      newer: "Your saved learning record was made by a newer version of this site. It was kept aside, not deleted, and a new record has been started here.",
      unavailable: "This browser cannot save your learning record (private mode or a storage limit). Your answers last until you close this page.",
      quota: "Storage is full, so your learning record could not be saved. Export it from the Your progress page so that it is not lost.",
      download: "Download the unreadable data",
      title: "About your learning record"
    }
  };

  function lang() {
    return document.documentElement.lang === "ja" ? "ja" : "en";
  }

  function t(key) {
    return STRINGS[lang()][key];
  }

  function now() {
    return new Date().toISOString();
  }

  function empty() {
    return { version: VERSION, questions: {}, pages: {} };
  }

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function isOptionalString(value) {
    return value === undefined || typeof value === "string";
  }

  function validQuestion(value) {
    return isObject(value) &&
      typeof value.correct === "boolean" &&
      Number.isInteger(value.attempts) && value.attempts >= 0 &&
      Array.isArray(value.answer) &&
      value.answer.every(function (key) { return typeof key === "string"; }) &&
      isOptionalString(value.at);
  }

  function validPage(value) {
    return isObject(value) && typeof value.read === "boolean" && isOptionalString(value.at);
  }

  /* Split data of the current version into its valid entries and the rest. */
  function sanitize(data) {
    var record = empty();
    var rejected = { questions: {}, pages: {} };
    var bad = 0;
    [["questions", validQuestion], ["pages", validPage]].forEach(function (pair) {
      var section = data[pair[0]];
      if (!isObject(section)) {
        if (section !== undefined) { rejected[pair[0]] = section; bad += 1; }
        return;
      }
      Object.keys(section).forEach(function (id) {
        if (pair[1](section[id])) {
          record[pair[0]][id] = section[id];
        } else {
          rejected[pair[0]][id] = section[id];
          bad += 1;
        }
      });
    });
    return { record: record, rejected: bad ? rejected : null };
  }

  var state = {
    record: empty(),
    storage: true,     // false when localStorage cannot be used at all
    setAside: [],      // raw strings we could not use, kept for download
    problems: [],      // keys of STRINGS to tell the reader, once
    listeners: []
  };

  function storage() {
    try {
      return window.localStorage;
    } catch (error) {
      return null;
    }
  }

  function setAside(raw, problem) {
    state.setAside.push(raw);
    state.problems.push(problem);
    var store = storage();
    if (!store) return;
    try {
      store.setItem(SET_ASIDE_PREFIX + now(), raw);
    } catch (error) {
      // Kept in memory; the notice offers it for download.
    }
  }

  function load() {
    var store = storage();
    var raw = null;
    try {
      if (!store) throw new Error("no storage");
      raw = store.getItem(KEY);
    } catch (error) {
      state.storage = false;
      state.problems.push("unavailable");
      return;
    }
    if (raw === null) return;
    var data;
    try {
      data = JSON.parse(raw);
    } catch (error) {
      setAside(raw, "corrupt");
      save();
      return;
    }
    if (!isObject(data) || !Number.isInteger(data.version) || data.version < 1) {
      setAside(raw, "corrupt");
      save();
      return;
    }
    if (data.version > VERSION) {
      setAside(raw, "newer");
      save();
      return;
    }
    var result = sanitize(data);
    state.record = result.record;
    if (result.rejected) {
      setAside(JSON.stringify(result.rejected), "corrupt");
      save();
    }
  }

  function save() {
    if (!state.storage) return false;
    try {
      storage().setItem(KEY, JSON.stringify(state.record));
      return true;
    } catch (error) {
      if (state.problems.indexOf("quota") === -1) {
        state.problems.push("quota");
        showNotice();
      }
      return false;
    }
  }

  function changed() {
    save();
    state.listeners.forEach(function (listener) { listener(state.record); });
  }

  /* Tell the reader about problems with their record, once per page view. */
  function showNotice() {
    if (!state.problems.length) return;
    var host = document.querySelector(".md-content__inner");
    if (!host) return;
    var old = host.querySelector("[data-record-notice]");
    if (old) old.remove();
    var box = document.createElement("div");
    box.className = "admonition warning record-notice";
    box.setAttribute("data-record-notice", "");
    box.setAttribute("role", "status");
    var title = document.createElement("p");
    title.className = "admonition-title";
    title.textContent = t("title");
    box.appendChild(title);
    state.problems.filter(function (p, i, all) { return all.indexOf(p) === i; }).forEach(function (problem) {
      var p = document.createElement("p");
      p.textContent = t(problem);
      box.appendChild(p);
    });
    if (state.setAside.length) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "md-button";
      button.textContent = t("download");
      button.addEventListener("click", function () {
        download("kasouka-record-unreadable.txt", state.setAside.join("\n\n"), "text/plain");
      });
      box.appendChild(button);
    }
    host.insertBefore(box, host.firstChild);
  }

  function download(filename, text, type) {
    var url = URL.createObjectURL(new Blob([text], { type: type }));
    var link = document.createElement("a");
    link.href = url;
    link.download = filename;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 0);
  }

  /* Strictly check an imported file; throw an Error whose message is a code. */
  function parseImport(text) {
    var data;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new Error("not-json");
    }
    if (!isObject(data) || data.format !== FORMAT) throw new Error("not-a-record");
    if (!Number.isInteger(data.version) || data.version > VERSION) throw new Error("newer-version");
    if (!isObject(data.questions) || !isObject(data.pages)) throw new Error("malformed");
    var result = sanitize(data);
    if (result.rejected) throw new Error("malformed");
    return result.record;
  }

  var api = {
    VERSION: VERSION,
    get: function () { return state.record; },
    question: function (id) { return state.record.questions[id] || null; },
    isRead: function (slug) { return Boolean(state.record.pages[slug] && state.record.pages[slug].read); },
    answer: function (id, keys, correct) {
      var previous = state.record.questions[id];
      state.record.questions[id] = {
        correct: correct,
        attempts: (previous ? previous.attempts : 0) + 1,
        answer: keys.slice(),
        at: now()
      };
      changed();
    },
    setRead: function (slug, read) {
      state.record.pages[slug] = { read: read, at: now() };
      changed();
    },
    reset: function () {
      state.record = empty();
      changed();
    },
    exportText: function () {
      return JSON.stringify({
        format: FORMAT,
        version: VERSION,
        exported: now(),
        questions: state.record.questions,
        pages: state.record.pages
      }, null, 2) + "\n";
    },
    importText: function (text) {
      state.record = parseImport(text);
      changed();
    },
    download: download,
    onChange: function (listener) { state.listeners.push(listener); }
  };

  load();
  window.KasoukaRecord = api;

  // Another tab changed the record: follow it.
  window.addEventListener("storage", function (event) {
    if (event.key !== KEY) return;
    state.problems = [];
    state.record = empty();
    load();
    state.listeners.forEach(function (listener) { listener(state.record); });
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", showNotice);
  } else {
    showNotice();
  }
})();
