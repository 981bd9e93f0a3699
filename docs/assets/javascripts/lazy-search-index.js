/*
 * Load the search index only when the reader starts to search.
 *
 * Material fetches search/search_index.json (with XMLHttpRequest) on every page
 * load, and the worker then loads the Japanese segmenter. The index grows with
 * every chapter, so a reader who never searches would pay for it on every first
 * visit. This holds that one request back until the search box gets focus (or the
 * search toggle opens, or a ?h= search highlight needs it). Loaded right before
 * Material's bundle at the end of the body (overrides/main.html).
 */
(function () {
  "use strict";
  var open = XMLHttpRequest.prototype.open;
  var send = XMLHttpRequest.prototype.send;
  var wanted = false;
  var waiting = [];

  function want() {
    if (wanted) return;
    wanted = true;
    waiting.splice(0).forEach(function (go) { go(); });
  }

  XMLHttpRequest.prototype.open = function (method, url) {
    this.kasoukaSearchIndex = /\/search\/search_index\.json$/.test(String(url));
    return open.apply(this, arguments);
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

  document.addEventListener("focusin", function (event) {
    if (event.target.classList && event.target.classList.contains("md-search__input")) want();
  });
  document.addEventListener("change", function (event) {
    if (event.target.id === "__search") want();
  });
  if (/[?&]h=/.test(location.search)) want();
})();
