/*
 * The widget kit: what every widget script does, written once (CONTRIBUTING.md#widgets,
 * "キットのAPI"). overrides/main.html loads it before the widget scripts, on pages that
 * have a widget. A widget registers its setup with WidgetKit.define(name, setup); for each
 * root [data-widget=name] (overrides/hooks/_widget.py writes it: a static part
 * [data-static] and <script type="application/json" data-widget-data>), the kit calls
 * setup(w) with the root, its data, the page's language and strings (w.t), element
 * helpers, the Step/Back/Run/Reset stepper with history, and mount(). An error in setup or
 * in a handler is shown in the widget (role="alert"), not in the console; if setup fails,
 * the static part stays. The built copy loses these comments (_widget.Widget.on_post_build).
 */
(function () {
  "use strict";

  var HOLE = /\{(\w+)(?:\|([^|{}]*)\|([^{}]*))?\}/g;

  /* {name} is the value; {name|one|other} is one if the value is 1, else other. */
  function format(text, values) {
    return text.replace(HOLE, function (all, name, one, other) {
      var value = (values || {})[name];
      if (value === undefined) {
        throw new Error("no " + all + " for “" + text + "”");
      }
      return one === undefined ? String(value) : value === 1 ? one : other;
    });
  }

  function Widget(name, root, index) {
    this.name = name;
    this.root = root;
    this.uid = root.id || name + "-" + (index + 1);
    this.source = root.querySelector("script[data-widget-data]");
    this.data = JSON.parse(this.source.textContent);
    this.lang = this.data.lang;
  }

  Widget.prototype = {
    t: function (key, values) {
      var text = this.data.strings[key];
      if (typeof text !== "string") {
        throw new Error("no string “" + key + "”");
      }
      return format(text, values);
    },

    /* Classes get the widget's prefix ("hop" -> "io-path__hop"); md-… and widget__… stay. */
    el: function (tag, classes, text) {
      var node = document.createElement(tag);
      var prefix = this.name + "__";
      if (classes) {
        node.className = classes.split(" ").filter(Boolean).map(function (name) {
          return /^(md-|widget__)/.test(name) ? name : prefix + name;
        }).join(" ");
      }
      if (text !== undefined) {
        node.textContent = text;
      }
      return node;
    },

    /* The app: the widget's part that needs script, starting with its "intro" string. */
    app: function () {
      var app = this.el("div", "app");
      if (this.data.strings.intro) {
        app.appendChild(this.el("p", "intro", this.t("intro")));
      }
      return app;
    },

    /* A table's head: a th scope="col" per label; null gives an empty td. */
    thead: function (labels) {
      var head = document.createElement("thead");
      var row = head.appendChild(document.createElement("tr"));
      labels.forEach(function (label) {
        var cell = row.appendChild(document.createElement(label === null ? "td" : "th"));
        if (label !== null) {
          cell.scope = "col";
          cell.textContent = label;
        }
      });
      return head;
    },

    button: function (action, text, primary) {
      var node = this.el("button", "widget__button md-button" + (primary ? " md-button--primary" : ""), text);
      node.type = "button";
      node.setAttribute("data-action", action);
      return node;
    },

    live: function (tag, classes) {
      var node = this.el(tag, classes);
      node.setAttribute("aria-live", "polite");
      return node;
    },

    region: function (classes, labelledBy) {
      var node = this.el("div", "widget__table-wrap " + classes);
      node.setAttribute("role", "region");
      node.setAttribute("tabindex", "0");
      node.setAttribute("aria-labelledby", labelledBy);
      return node;
    },

    /* Radio buttons in a fieldset: {name, attribute, legend (a text or a legend element),
       items: [{id, label}], checked, change(id), classes}. */
    choices: function (o) {
      var self = this;
      var fieldset = this.el("fieldset", "widget__picker " + (o.classes || ""));
      var list = this.el("div", "widget__choices");
      fieldset.appendChild(o.legend.nodeType ? o.legend : this.el("legend", "widget__legend", o.legend));
      o.items.forEach(function (item) {
        var label = self.el("label", "widget__choice");
        var input = document.createElement("input");
        input.type = "radio";
        input.name = self.uid + "-" + o.name;
        input.value = item.id;
        input.checked = item.id === o.checked;
        input.setAttribute(o.attribute, item.id);
        self.on(input, "change", function () { o.change(item.id); });
        label.appendChild(input);
        label.appendChild(self.el("span", "widget__choice-text", item.label));
        list.appendChild(label);
      });
      fieldset.appendChild(list);
      return fieldset;
    },

    /* A listener whose errors the widget shows, instead of the console. */
    on: function (node, event, handler) {
      var self = this;
      node.addEventListener(event, function (e) {
        try {
          handler(e);
        } catch (error) {
          self.fail(error);
        }
      });
    },

    /* Step / Back / Run / Reset: {actions, first(), more(state), next(state) (a new state:
       the old one is kept for Back), render(state, action), blocked(action), history,
       classes}. Reset goes back to first(). A button with nothing to do is aria-disabled,
       so that it keeps the keyboard focus. The root's data-position counts the steps. */
    stepper: function (o) {
      var self = this;
      var node = this.el("div", "widget__actions " + (o.classes || ""));
      var buttons = {};
      var state, past, position;
      var can = {
        back: function () { return past.length; },
        step: function () { return o.more(state); },
        reset: function () { return position; }
      };
      can.run = can.step;

      function restart() {
        state = o.first();
        past = [];
        position = 0;
      }

      function show(action) {
        for (var name in buttons) {
          buttons[name][can[name]() ? "removeAttribute" : "setAttribute"]("aria-disabled", "true");
        }
        self.root.setAttribute("data-position", position);
        o.render(state, action);
      }

      o.actions.forEach(function (action) {
        var button = buttons[action] = self.button(action, self.t(action), action === "step");
        self.on(button, "click", function () {
          if (!can[action]()) {
            return o.blocked && o.blocked(action);
          }
          if (action === "back") {
            state = past.pop();
            position--;
          } else if (action === "reset") {
            restart();
          } else {
            do {
              past.push(state);
              past.splice(0, past.length - (o.history || 1000));
              state = o.next(state);
              position++;
            } while (action === "run" && o.more(state));
          }
          show(action);
        });
        node.appendChild(button);
      });
      restart();
      return {
        node: node,
        restart: function () { restart(); show("start"); },
        refresh: function () { show("refresh"); }
      };
    },

    /* The app takes the static part's place. */
    mount: function (app) {
      this.mounted = app;
      this.root.querySelector("[data-static]").hidden = true;
      this.root.insertBefore(app, this.source);
      this.root.setAttribute("data-ready", "");
    },

    fail: function (error) {
      var box = this.root.querySelector(".widget__failed") || this.el("p", "widget__failed");
      box.setAttribute("role", "alert");
      box.textContent = format(this.data.strings["kit.failed"], { message: error.message || String(error) });
      this.root.insertBefore(box, this.root.firstChild);
    }
  };

  window.WidgetKit = {
    format: format,
    define: function (name, setup) {
      function start() {
        document.querySelectorAll('[data-widget="' + name + '"]').forEach(function (root, index) {
          var widget;
          try {
            widget = new Widget(name, root, index);
            setup(widget);
          } catch (error) {
            if (!widget) {
              return;  // no data to work with: the static part is all there is
            }
            if (widget.mounted) {
              widget.mounted.remove();
              root.querySelector("[data-static]").hidden = false;
              root.removeAttribute("data-ready");
            }
            widget.fail(error);
          }
        });
      }
      if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", start);
      } else {
        start();
      }
    }
  };
})();
