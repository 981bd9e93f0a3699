/* Figures open in a dialog that fits the screen (overrides/hooks/figure_links.py).
   A bare SVG opened on a phone is laid out 980 px wide and shows smaller than in
   the page; the dialog fits it to the screen, the reader can pinch-zoom, and
   closing (button, Esc, a tap outside the figure) returns to the same scroll
   position with the focus back on the figure. Without JavaScript, or without
   <dialog>, the link still opens the SVG file. */
(function () {
  "use strict";
  var links = document.querySelectorAll("a.figure-zoom");
  if (!links.length || typeof HTMLDialogElement !== "function") return;

  var english = (document.documentElement.lang || "").indexOf("en") === 0;
  var strings = english
    ? { close: "Close", open: "Open the SVG file", label: "Figure" }
    : { close: "閉じる", open: "SVGファイルを開く", label: "図" };

  // Built on the first tap, not at load: nothing to lay out before the reader asks.
  var dialog, file, close, image;
  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "figure-dialog";
    dialog.setAttribute("aria-label", strings.label);
    var bar = document.createElement("div");
    bar.className = "figure-dialog__bar";
    file = document.createElement("a");
    file.className = "figure-dialog__file";
    file.textContent = strings.open;
    close = document.createElement("button");
    close.type = "button";
    close.className = "md-button figure-dialog__close";
    close.textContent = strings.close;
    bar.appendChild(file);
    bar.appendChild(close);
    var body = document.createElement("div");
    body.className = "figure-dialog__body";
    image = document.createElement("img");
    body.appendChild(image);
    dialog.appendChild(bar);
    dialog.appendChild(body);
    document.body.appendChild(dialog);

    close.addEventListener("click", function () { dialog.close(); });
    // A tap on the backdrop or around the figure closes it, as on a photo viewer.
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog || event.target === body) dialog.close();
    });
  }

  Array.prototype.forEach.call(links, function (link) {
    link.addEventListener("click", function (event) {
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      if (!dialog) build();
      var inPage = link.querySelector("img");
      image.src = link.getAttribute("href");
      image.alt = inPage ? inPage.alt : "";
      file.href = link.getAttribute("href");
      dialog.showModal();
      close.focus();
    });
  });
})();
