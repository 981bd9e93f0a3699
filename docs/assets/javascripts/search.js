/*
 * Search that answers the way readers ask (CONTRIBUTING.md#search).
 *
 * Material's search stays as it is: its search box, its results and its web
 * worker (lunr). This script, loaded right before Material's bundle at the end of
 * the body (overrides/main.html), changes three things around it:
 *
 * 1. Which index, and when. Material fetches search/search_index.json (with
 *    XMLHttpRequest) on every page load. The request is held back until the
 *    reader starts to search (focus on the search box, the search toggle, or a
 *    ?h= highlight), and it asks for this page's language only: the URL in this
 *    script's data-index (search/search_index.json or en/search/search_index.json,
 *    written by overrides/hooks/search_index.py). The offline zip (file://) loads
 *    search/search_index.js instead, which picks the language by <html lang>.
 *
 * 2. The query. Before a query reaches the worker it is normalised the way the
 *    index was: NFKC (ＫＶＭ -> KVM, ﾊｲﾊﾟｰ -> ハイパー), lower case, the course's
 *    spelling of katakana words (the term table), question words and particles
 *    dropped (「〜とは」「〜の違い」「AとB」), a space between Latin letters or
 *    digits and Japanese (タイプ1 -> タイプ 1, as the index's segmenter splits
 *    them), and a word's final ー dropped: Material appends * to every term, so
 *    サーバ* finds both サーバ and サーバー. Each word is also searched whole and
 *    boosted (KVM^10 before kvmclock), consecutive English words and identifiers
 *    joined as the index stores names (qzshadowpagetable, qzkvmexitio), and a
 *    query that is nothing but glossary names gets their terms' tokens (qg…). The
 *    rules come with the index (config.query), so pages carry none of them; the
 *    tokens are taken out of the results' highlight links again.
 *
 * 3. Input methods. Material reads the box on keyup. An input method commits
 *    text with composition events, sometimes with no key event after it (a
 *    candidate picked with the mouse, phone keyboards): on compositionend, and on
 *    any input outside a composition, the box is read again.
 *
 * Results for what the reader typed while the index loaded appear when the
 * index is ready: Material reads the box again when its worker says so.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var indexUrl = script && script.dataset.index ? new URL(script.dataset.index, document.baseURI).href : null;

  /* --- 1. the index: this language's, loaded on first use ------------------------- */

  var open = XMLHttpRequest.prototype.open;
  var send = XMLHttpRequest.prototype.send;
  var wanted = false;
  var waiting = [];
  var INDEX = /\/search\/search_index\.json$/;

  function want() {
    if (wanted) return;
    wanted = true;
    waiting.splice(0).forEach(function (go) { go(); });
  }

  XMLHttpRequest.prototype.open = function (method, url) {
    var args = Array.prototype.slice.call(arguments);
    this.kasoukaSearchIndex = INDEX.test(String(url));
    if (this.kasoukaSearchIndex && indexUrl) args[1] = indexUrl;
    return open.apply(this, args);
  };
  XMLHttpRequest.prototype.send = function () {
    var request = this;
    var args = arguments;
    if (request.kasoukaSearchIndex && !wanted) {
      waiting.push(function () { send.apply(request, args); });
      return undefined;
    }
    return send.apply(request, args);
  };

  function isSearchBox(target) {
    return target && target.classList && target.classList.contains("md-search__input");
  }

  document.addEventListener("focusin", function (event) {
    if (isSearchBox(event.target)) want();
  });
  document.addEventListener("change", function (event) {
    if (event.target.id === "__search") want();
  });
  if (/[?&]h=/.test(location.search)) want();

  /* --- 2. the query, normalised like the index ------------------------------------ */

  // Message types of Material's search worker (SearchMessageType).
  var SETUP = 0;
  var QUERY = 2;
  var rules = null;

  function escape(word) {
    return word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  function compile(query) {
    var hiragana = "\\u3041-\\u309f";
    return {
      spelling: (query.spelling || []).map(function (rule) {
        return [new RegExp(rule[0], "g"), rule[1]];
      }),
      // A question word anywhere; a particle only after a word that is not hiragana.
      questions: new RegExp("(?:" + query.questions.map(escape).join("|") + ")", "g"),
      particles: new RegExp(
        "([^\\s" + hiragana + "])(?:" + query.particles.map(escape).join("|") + ")+(?=[^\\s" + hiragana + "]|$)", "g"
      ),
      stop: new Set(query.stop || []),
      joined: query.joined || "",
      terms: query.terms || [],
      marks: new RegExp("^(?:" + (query.marks || ["-"]).map(escape).join("|") + ")[a-z0-9]+$")
    };
  }

  var JAPANESE = "\\u3041-\\u30ff\\u3400-\\u9fff\\uf900-\\ufaff";
  var LATIN_THEN_JAPANESE = new RegExp("([0-9a-z])(?=[" + JAPANESE + "])", "g");
  var JAPANESE_THEN_LATIN = new RegExp("([" + JAPANESE + "])(?=[0-9a-z])", "g");
  var FINAL_LONG_VOWEL = /([\u30a1-\u30fa\u30fc]{3,})\u30fc(?![\u30a1-\u30fc])/g;
  var HAN = /[\u3400-\u9fff\uf900-\ufaff]/;
  var LATIN = /^[\x21-\x7e]+$/;
  var SYNTAX = /^[+\-]|[~^:*]/;
  var EXACT = 10;
  var NAMED = 30;
  var PART = 2;
  var WHOLE = 30;

  // An English plural also finds the singular: interrupts -> interrupt*, entries -> entry*
  // (the same rule as singular() in overrides/hooks/search_index.py).
  function singular(word) {
    if (!/^[a-z]{5,}$/.test(word)) return word;
    if (/ies$/.test(word)) return word.slice(0, -3) + "y";
    if (/(?:s|x|ch|sh)es$/.test(word)) return word.slice(0, -2);
    if (/[^su]s$/.test(word)) return word.slice(0, -1);
    return word;
  }

  // Consecutive Latin words joined, as the index stores a name of several words
  // (key_form() in search_index.py): "shadow page tables" -> qzshadowpagetable,
  // KVM_EXIT_IO -> qzkvmexitio. Every run of two to five parts is tried.
  function joined(words) {
    var parts = [];
    words.forEach(function (word) {
      word.split(/[^a-z0-9]+/).forEach(function (part) {
        if (part && !rules.stop.has(part)) parts.push(part);
      });
    });
    var terms = [];
    for (var i = 0; i < parts.length; i++) {
      for (var j = i + 2; j <= Math.min(parts.length, i + 5); j++) {
        var run = parts.slice(i, j);
        run[run.length - 1] = singular(run[run.length - 1]);
        // The whole run weighs most: "shadow page table" is about shadow page
        // tables, less about page tables.
        var whole = i === 0 && j === parts.length;
        terms.push(rules.joined + run.join("") + "^" + (whole ? WHOLE : PART));
      }
    }
    return terms;
  }

  // The glossary's Japanese names, found whole in the query (longest first),
  // each stand for its term's token (term_id() in search_index.py). Not inside a
  // longer word: 仮想化 in 仮想化の歴史, but not in 仮想化支援.
  function scriptOf(char) {
    if (!char) return "";
    if (HAN.test(char)) return "han";
    if (/[\u30a1-\u30fa\u30fc]/.test(char)) return "katakana";
    return /[a-z0-9]/.test(char) ? "latin" : "";
  }

  function glossaryTerms(text) {
    var found = [];
    rules.terms.forEach(function (pair) {
      var name = pair[0];
      var at = text.indexOf(name);
      while (at >= 0) {
        var end = at + name.length;
        var before = scriptOf(text.charAt(at - 1));
        var after = scriptOf(text.charAt(end));
        if ((!before || before !== scriptOf(name.charAt(0))) &&
            (!after || after !== scriptOf(name.charAt(name.length - 1)))) {
          found.push(pair[1] + "^" + NAMED);
          text = text.slice(0, at) + " " + text.slice(end);
          return;
        }
        at = text.indexOf(name, at + 1);
      }
    });
    return { found: found, rest: text };
  }

  // The index's trimmer strips a word's leading and trailing signs (%st -> st).
  var SIGNS = /^[^0-9a-z\u3041-\u30ff\u3400-\u9fff]+|[^0-9a-z\u3041-\u30ff\u3400-\u9fff*~^]+$/g;

  function contentWords(text) {
    return text
      .replace(rules.questions, " ")
      .replace(rules.particles, "$1 ")
      .replace(LATIN_THEN_JAPANESE, "$1 ")
      .replace(JAPANESE_THEN_LATIN, "$1 ")
      .split(/\s+/)
      .map(function (word) { return /^[+\-]/.test(word) ? word : word.replace(SIGNS, ""); })
      .filter(function (word) { return word && !rules.stop.has(word); });
  }

  function normalise(value) {
    if (!rules || typeof value !== "string") return value;
    var text = value.normalize("NFKC").toLowerCase();
    rules.spelling.forEach(function (rule) { text = text.replace(rule[0], rule[1]); });
    // Only when the query is nothing but glossary names (and question words):
    // in 仮想化の歴史 the reader looks for history, not for 仮想化.
    var named = glossaryTerms(text);
    if (contentWords(named.rest).length) named.found = [];
    var words = contentWords(text);
    var terms = [];
    var latin = [];
    words.concat([""]).forEach(function (word) {
      if (word && LATIN.test(word) && !SYNTAX.test(word)) {
        latin.push(word);
      } else {
        terms = terms.concat(joined(latin));
        latin = [];
      }
      if (!word) return;
      var loose = singular(word.replace(FINAL_LONG_VOWEL, "$1"));
      // Material searches every term as a prefix (term*): KVM finds kvmclock as
      // well as KVM. The word itself, boosted, ranks exact matches first. Kanji
      // are left to Material, which segments them with the index's own words.
      // An identifier (KVM_EXIT_IO) is looked up whole, joined (above): its parts
      // are common words and only match loosely.
      if (HAN.test(word) || SYNTAX.test(word) || /[a-z0-9][-_][a-z0-9]/.test(word)) {
        terms.push(loose);
      } else {
        terms.push(word + "^" + EXACT, loose);
      }
    });
    // A query of nothing but question words still searches for them.
    return terms.concat(named.found).join(" ") || text.trim();
  }

  function wrap(Worker) {
    if (!Worker || !Worker.prototype || Worker.prototype.kasoukaSearch) return;
    var post = Worker.prototype.postMessage;
    Worker.prototype.kasoukaSearch = true;
    Worker.prototype.postMessage = function (message) {
      var args = Array.prototype.slice.call(arguments);
      if (message && message.type === SETUP && message.data && message.data.config) {
        rules = message.data.config.query ? compile(message.data.config.query) : null;
      } else if (message && message.type === QUERY) {
        args[0] = { type: QUERY, data: normalise(message.data) };
      }
      return post.apply(this, args);
    };
  }
  // On file:// the offline package's shim has replaced Worker by an iframe.
  wrap(window.Worker);

  // The result links carry the matched terms (?h=) for highlighting on the page;
  // the index's own tokens (joined names, term ids) mean nothing there.
  function tidy(link) {
    var url = new URL(link.href);
    var terms = (url.searchParams.get("h") || "").split(" ");
    var kept = terms.filter(function (term) { return !rules || !rules.marks.test(term); });
    if (kept.length === terms.length) return;
    url.searchParams.set("h", kept.join(" "));
    link.href = url.href;
  }
  var list = document.querySelector(".md-search-result__list");
  if (list) {
    new MutationObserver(function () {
      Array.prototype.forEach.call(list.querySelectorAll("a[href*='h=']"), tidy);
    }).observe(list, { childList: true, subtree: true });
  }

  /* --- 3. input methods ------------------------------------------------------------- */

  function reread(box) {
    box.dispatchEvent(new KeyboardEvent("keyup", { bubbles: true }));
  }
  document.addEventListener("compositionend", function (event) {
    if (isSearchBox(event.target)) reread(event.target);
  }, true);
  document.addEventListener("input", function (event) {
    if (isSearchBox(event.target) && !event.isComposing) reread(event.target);
  }, true);

  window.kasoukaSearch = { normalise: normalise };
})();
