/* The bytecode VM (hook: overrides/hooks/bytecode_vm.py; kit: _kit.js): the lab's stack
   machine (docs/labs/bytecode_vm.py). assemble() and step() follow the lab's line by line:
   same checks in the same order, same error kinds and lines; the messages (error.*) are
   the lab's MESSAGES, sent by the hook. Keep the two machines in step. Addresses
   are shown as the lab shows them (addr()). The root has data-state, data-pc, data-steps. */
WidgetKit.define("bytecode-vm", function (w) {
  "use strict";

  // States kept for Back: any loop a reader steps by hand; bounded when Run hits the limit.
  var HISTORY_LIMIT = 1000;
  var NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
  var LABEL = /^([A-Za-z_][A-Za-z0-9_]*)\s*:([\s\S]*)$/;
  var INTEGER = /^[+-]?[0-9]+$/;
  var OFFSET = /^(0[xX][0-9a-fA-F]+|[0-9]+)$/;  // a jump target written as a number
  var NEEDS = { STORE: 1, JZ: 1, PRINT: 1, ADD: 2, SUB: 2, MUL: 2, LT: 2, EQ: 2 };

  function VMError(kind, line, key, args) {
    this.kind = kind;
    this.line = line;
    this.key = key;
    this.args = args || {};
  }

  // An address as the lab shows it: hexadecimal, 0x and at least four digits (n: Number or BigInt).
  function addr(n) {
    var s = n.toString(16);
    while (s.length < 4) { s = "0" + s; }
    return "0x" + s;
  }

  function hex2(n) {
    return (n < 16 ? "0" : "") + n.toString(16);
  }

  // The machine (the lab's assemble, decode and step).

  function assemble(text, data) {
    var source = text.split("\n");
    var code = [];
    var lines = {};
    var labels = {};
    var names = [];
    var jumps = [];
    for (var i = 0; i < source.length; i++) {
      var number = i + 1;
      var body = source[i].split(";")[0].trim();
      var label = LABEL.exec(body);
      if (label) {
        if (Object.prototype.hasOwnProperty.call(labels, label[1])) {
          throw new VMError("duplicate-label", number, "duplicateLabel", { label: label[1] });
        }
        labels[label[1]] = code.length;
        body = label[2].trim();
      }
      if (!body) {
        continue;
      }
      var words = body.split(/\s+/);
      var name = words[0].toUpperCase();
      if (!Object.prototype.hasOwnProperty.call(data.opcodes, name)) {
        throw new VMError("unknown-instruction", number, "unknownInstruction", { word: words[0] });
      }
      var opcode = data.opcodes[name][0];
      var kind = data.opcodes[name][1];
      if (kind === null && words.length > 1) {
        throw new VMError("bad-operand", number, "takesNoOperand", { name: name });
      }
      if (kind !== null && words.length === 1) {
        throw new VMError("missing-operand", number, "needsOperand", { name: name });
      }
      if (words.length > 2) {
        throw new VMError("bad-operand", number, "takesOneOperand", { name: name });
      }
      if (code.length + 1 + data.operandSize[String(kind === null ? "None" : kind)] > data.maxCode) {
        throw new VMError("program-too-large", number, "tooLarge", { max: data.maxCode });
      }
      lines[code.length] = number;
      code.push(opcode);
      var operand = words[1];
      if (kind === "int") {
        if (!INTEGER.test(operand)) {
          throw new VMError("bad-operand", number, "needsInteger", { name: name, operand: operand });
        }
        var big = BigInt(operand);
        if (big < -2147483648n || big > 2147483647n) {
          throw new VMError("bad-operand", number, "doesNotFit", { value: big.toString() });
        }
        var v = Number(big) | 0;
        code.push(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255);
      } else if (kind === "local") {
        if (!NAME.test(operand)) {
          throw new VMError("bad-operand", number, "needsName", { name: name, operand: operand });
        }
        if (names.indexOf(operand) === -1) {
          if (names.length === data.maxLocals) {
            throw new VMError("bad-operand", number, "tooManyLocals", { max: data.maxLocals });
          }
          names.push(operand);
        }
        code.push(names.indexOf(operand));
      } else if (kind === "label") {
        if (!(NAME.test(operand) || OFFSET.test(operand))) {
          throw new VMError("bad-operand", number, "needsLabel", { name: name, operand: operand });
        }
        jumps.push([code.length, operand, number]);
        code.push(0, 0);
      }
    }
    if (!code.length) {
      throw new VMError("empty-program", 1, "empty");
    }
    jumps.forEach(function (jump) {
      var position = jump[0], target = jump[1], line = jump[2];
      var value;
      if (NAME.test(target)) {
        if (!Object.prototype.hasOwnProperty.call(labels, target)) {
          throw new VMError("unknown-label", line, "unknownLabel", { label: target });
        }
        value = labels[target];
      } else {
        var bigTarget = BigInt(target);  // "15" or "0x0f"
        if (bigTarget >= BigInt(code.length)) {
          throw new VMError("jump-out-of-range", line, "outside",
            { target: addr(bigTarget), first: addr(0), last: addr(code.length - 1) });
        }
        value = Number(bigTarget);
      }
      if (value >= code.length) {
        throw new VMError("jump-out-of-range", line, "outside",
          { target: addr(value), first: addr(0), last: addr(code.length - 1) });
      }
      if (!Object.prototype.hasOwnProperty.call(lines, value)) {
        throw new VMError("jump-out-of-range", line, "notStart", { target: addr(value) });
      }
      code[position] = value & 255;
      code[position + 1] = (value >>> 8) & 255;
    });
    return { code: code, lines: lines, names: names, source: source };
  }

  function decode(program, pc, data) {
    var code = program.code;
    var name = data.byCode[code[pc]];
    if (name === undefined) {
      throw new VMError("bad-opcode", program.lines[pc] || 0, "badOpcode", { hex: hex2(code[pc]), pc: addr(pc) });
    }
    var kind = data.opcodes[name][1];
    var size = data.operandSize[String(kind === null ? "None" : kind)];
    var operand = null;
    if (kind === "int") {
      operand = code[pc + 1] | (code[pc + 2] << 8) | (code[pc + 3] << 16) | (code[pc + 4] << 24);
    } else if (kind === "local") {
      operand = code[pc + 1];
    } else if (kind === "label") {
      operand = code[pc + 1] | (code[pc + 2] << 8);
    }
    return { name: name, operand: operand, next: pc + 1 + size };
  }

  function show(program, pc, data) {
    var d = decode(program, pc, data);
    if (d.operand === null) {
      return d.name;
    }
    if (data.opcodes[d.name][1] === "local") {
      return d.name + " " + d.operand + " (" + program.names[d.operand] + ")";
    }
    if (data.opcodes[d.name][1] === "label") {
      return d.name + " " + addr(d.operand);
    }
    return d.name + " " + d.operand;
  }

  function step(program, state, data) {
    var line = program.lines[state.pc];
    if (state.steps >= data.stepLimit) {
      throw new VMError("step-limit", line, "stepLimit", { limit: data.stepLimit });
    }
    var d = decode(program, state.pc, data);
    var name = d.name, operand = d.operand, next = d.next;
    var stack = state.stack;
    var needs = NEEDS[name] || 0;
    if (stack.length < needs) {
      throw new VMError("stack-underflow", line, "underflow", { name: name, needs: needs, has: stack.length });
    }
    if (name === "PUSH") {
      stack.push(operand);
    } else if (name === "LOAD") {
      if (state.locals[operand] === null) {
        throw new VMError("unset-local", line, "unsetLocal", { local: program.names[operand] });
      }
      stack.push(state.locals[operand]);
    } else if (name === "STORE") {
      state.locals[operand] = stack.pop();
    } else if (name === "ADD" || name === "SUB" || name === "MUL" || name === "LT" || name === "EQ") {
      var b = stack.pop(), a = stack.pop();
      stack.push({
        ADD: (a + b) | 0, SUB: (a - b) | 0, MUL: Math.imul(a, b), LT: a < b ? 1 : 0, EQ: a === b ? 1 : 0
      }[name]);
    } else if (name === "JMP") {
      next = operand;
    } else if (name === "JZ") {
      if (stack.pop() === 0) {
        next = operand;
      }
    } else if (name === "PRINT") {
      state.output.push(stack.pop());
    } else if (name === "HALT") {
      state.halted = true;
      next = state.pc;
    }
    state.pc = next;
    state.steps += 1;
    if (!state.halted && state.pc >= program.code.length) {
      throw new VMError("ran-off-end", line, "ranOffEnd");
    }
  }

  function newState(program) {
    return { pc: 0, stack: [], locals: program.names.map(function () { return null; }), output: [], steps: 0, halted: false };
  }

  function copyState(state) {
    return {
      pc: state.pc, stack: state.stack.slice(), locals: state.locals.slice(),
      output: state.output.slice(), steps: state.steps, halted: state.halted
    };
  }

  // The page.

  var data = w.data;
  var uid = w.uid;
  var el = w.el.bind(w);
  data.byCode = {};
  Object.keys(data.opcodes).forEach(function (name) { data.byCode[data.opcodes[name][0]] = name; });

  var program = null;
  var assembleError = null;

  function panel(key, title) {
    var box = el("div", "panel panel--" + key);
    var label = el("p", "panel-title", title);
    label.id = uid + "-" + key;
    box.appendChild(label);
    return box;
  }

  var app = w.app();

  // The editor.
  var editor = el("div", "editor");
  var sourceLabel = el("label", "source-label", w.t("source"));
  sourceLabel.htmlFor = uid + "-source";
  var textarea = el("textarea", "source");
  textarea.id = uid + "-source";
  textarea.setAttribute("data-source", "");
  textarea.spellcheck = false;
  textarea.setAttribute("autocapitalize", "off");
  textarea.setAttribute("autocomplete", "off");
  textarea.rows = 12;
  textarea.value = data.program;
  editor.appendChild(sourceLabel);
  editor.appendChild(textarea);
  var editorActions = el("div", "widget__actions actions");
  var assembleButton = w.button("assemble", w.t("assemble"));
  var sampleButton = w.button("sample", w.t("sample"));
  editorActions.appendChild(assembleButton);
  editorActions.appendChild(sampleButton);
  editor.appendChild(editorActions);
  var edited = el("p", "edited", "");
  edited.setAttribute("data-edited", "");
  editor.appendChild(edited);
  app.appendChild(editor);

  // The run buttons, status and errors.
  var stepper = w.stepper({
    classes: "actions actions--run",
    actions: ["back", "step", "run", "reset"],
    history: HISTORY_LIMIT,
    first: function () { return program ? { vm: newState(program), error: null } : null; },
    more: function (state) { return Boolean(state) && !state.error && !state.vm.halted; },
    next: function (state) {
      var vm = copyState(state.vm);
      try {
        step(program, vm, data);
      } catch (err) {
        if (!(err instanceof VMError)) {
          throw err;
        }
        return { vm: vm, error: err };
      }
      return { vm: vm, error: null };
    },
    render: render
  });
  stepper.node.setAttribute("role", "group");
  stepper.node.setAttribute("aria-label", w.t("controls"));
  app.appendChild(stepper.node);
  var status = w.live("p", "status");
  status.setAttribute("data-status", "");
  app.appendChild(status);
  var errorBox = el("div", "error");
  errorBox.setAttribute("data-error", "");
  errorBox.setAttribute("aria-live", "assertive");
  app.appendChild(errorBox);

  // The machine's parts.
  var panels = el("div", "panels");
  var listingPanel = panel("listing", w.t("listing"));
  var listingWrap = w.region("table-wrap", uid + "-listing");
  var listing = el("table", "table listing");
  listing.setAttribute("data-listing", "");
  listing.appendChild(w.thead([null, w.t("offset"), w.t("bytes"), w.t("line"), w.t("instruction")]));
  var listingBody = document.createElement("tbody");
  listing.appendChild(listingBody);
  listingWrap.appendChild(listing);
  listingPanel.appendChild(listingWrap);
  panels.appendChild(listingPanel);

  var side = el("div", "side");
  var stackPanel = panel("stack", w.t("stack"));
  var stackList = el("ol", "stack");
  stackList.setAttribute("data-stack", "");
  stackList.setAttribute("aria-labelledby", uid + "-stack");
  stackPanel.appendChild(stackList);
  var stackEmpty = el("p", "empty", w.t("empty"));
  stackPanel.appendChild(stackEmpty);
  side.appendChild(stackPanel);

  var localsPanel = panel("locals", w.t("locals"));
  var localsTable = el("table", "table locals");
  localsTable.setAttribute("data-locals", "");
  localsTable.setAttribute("aria-labelledby", uid + "-locals");
  localsTable.appendChild(w.thead([w.t("name"), w.t("value")]));
  var localsBody = document.createElement("tbody");
  localsTable.appendChild(localsBody);
  localsPanel.appendChild(localsTable);
  var localsNone = el("p", "empty", w.t("noLocals"));
  localsPanel.appendChild(localsNone);
  side.appendChild(localsPanel);

  var outputPanel = panel("output", w.t("output"));
  var outputLive = w.live("div", "output-live");
  var outputList = el("ol", "output");
  outputList.setAttribute("data-output", "");
  outputList.setAttribute("aria-labelledby", uid + "-output");
  outputLive.appendChild(outputList);
  var outputNone = el("p", "empty", w.t("nothing"));
  outputLive.appendChild(outputNone);
  outputPanel.appendChild(outputLive);
  side.appendChild(outputPanel);
  panels.appendChild(side);
  app.appendChild(panels);

  // Rendering.
  var rows = {};

  function buildListing() {
    listingBody.textContent = "";
    rows = {};
    if (!program) {
      return;
    }
    var pc = 0;
    while (pc < program.code.length) {
      var d = decode(program, pc, data);
      var row = document.createElement("tr");
      row.setAttribute("data-offset", String(pc));
      row.setAttribute("data-line", String(program.lines[pc]));
      var mark = el("td", "mark");
      mark.setAttribute("data-mark", "");
      row.appendChild(mark);
      var bytes = program.code.slice(pc, d.next).map(hex2).join(" ");
      [addr(pc), bytes, String(program.lines[pc]), show(program, pc, data)].forEach(function (text, i) {
        var cell = document.createElement(i === 3 ? "th" : "td");
        if (i === 3) {
          cell.scope = "row";
        }
        cell.textContent = text;
        row.appendChild(cell);
      });
      listingBody.appendChild(row);
      rows[pc] = row;
      pc = d.next;
    }
  }

  function showError(err, sourceLines) {
    errorBox.textContent = "";
    if (!err) {
      w.root.removeAttribute("data-error-kind");
      w.root.removeAttribute("data-error-line");
      errorBox.removeAttribute("data-kind");
      errorBox.removeAttribute("data-line");
      return;
    }
    w.root.setAttribute("data-error-kind", err.kind);
    w.root.setAttribute("data-error-line", String(err.line));
    errorBox.setAttribute("data-kind", err.kind);
    errorBox.setAttribute("data-line", String(err.line));
    errorBox.appendChild(el("p", "error-message",
      w.t("error", { line: err.line, message: w.t("error." + err.key, err.args) })));
    var text = sourceLines[err.line - 1];
    if (text !== undefined) {
      var lineNo = String(err.line);
      while (lineNo.length < 4) { lineNo = " " + lineNo; }
      errorBox.appendChild(el("pre", "error-line", lineNo + " | " + text.replace(/\s+$/, "")));
    }
  }

  function render(state) {
    if (!program) {
      w.root.setAttribute("data-state", "error");
      w.root.setAttribute("data-pc", "0");
      w.root.setAttribute("data-steps", "0");
      status.textContent = w.t("notAssembled");
      showError(assembleError, textarea.value.split("\n"));
      stackList.textContent = "";
      localsBody.textContent = "";
      outputList.textContent = "";
      stackEmpty.hidden = localsNone.hidden = outputNone.hidden = false;
      localsTable.hidden = true;
      return;
    }
    var vm = state.vm;
    var error = state.error;
    w.root.setAttribute("data-state", error ? "error" : vm.halted ? "halted" : "ready");
    w.root.setAttribute("data-pc", String(vm.pc));
    w.root.setAttribute("data-steps", String(vm.steps));
    Object.keys(rows).forEach(function (pc) {
      var row = rows[pc];
      var current = Number(pc) === vm.pc;
      var failed = error && Number(row.getAttribute("data-line")) === error.line &&
        (Number(pc) === vm.pc || error.kind === "ran-off-end");
      if (current) {
        row.setAttribute("aria-current", "step");
      } else {
        row.removeAttribute("aria-current");
      }
      row.toggleAttribute("data-failed", Boolean(failed));
      row.querySelector("[data-mark]").textContent = failed ? "✕" : current ? "▶" : "";
    });
    // The stack, top first.
    stackList.textContent = "";
    vm.stack.slice().reverse().forEach(function (value, i) {
      var item = el("li", "stack-item");
      item.setAttribute("data-value", String(value));
      item.appendChild(el("span", "stack-value", String(value)));
      if (i === 0) {
        item.appendChild(el("span", "stack-top", w.t("top")));
      }
      stackList.appendChild(item);
    });
    stackEmpty.hidden = vm.stack.length > 0;
    localsBody.textContent = "";
    program.names.forEach(function (name, slot) {
      var row = document.createElement("tr");
      row.setAttribute("data-local", name);
      var th = document.createElement("th");
      th.scope = "row";
      th.textContent = name;
      var td = document.createElement("td");
      var value = vm.locals[slot];
      td.textContent = value === null ? w.t("unset") : String(value);
      if (value === null) {
        row.setAttribute("data-unset", "");
      } else {
        row.setAttribute("data-value", String(value));
      }
      row.appendChild(th);
      row.appendChild(td);
      localsBody.appendChild(row);
    });
    localsTable.hidden = program.names.length === 0;
    localsNone.hidden = program.names.length > 0;
    // The output: append only what is new, so that screen readers hear just that.
    while (outputList.children.length > vm.output.length) {
      outputList.removeChild(outputList.lastChild);
    }
    for (var i = outputList.children.length; i < vm.output.length; i++) {
      outputList.appendChild(el("li", "output-item", String(vm.output[i])));
    }
    outputNone.hidden = vm.output.length > 0;
    var pc = addr(vm.pc);
    if (error) {
      status.textContent = w.t("stopped", { pc: pc, steps: vm.steps });
    } else if (vm.halted) {
      status.textContent = w.t("halted", { pc: pc, steps: vm.steps });
    } else if (vm.steps === 0) {
      status.textContent = w.t("ready", { n: Object.keys(program.lines).length, bytes: program.code.length });
    } else {
      status.textContent = w.t("at", { pc: pc, steps: vm.steps, line: program.lines[vm.pc], text: show(program, vm.pc, data) });
    }
    showError(error, program.source);
    var current = rows[vm.pc];
    if (current && listingWrap.scrollHeight > listingWrap.clientHeight) {
      listingWrap.scrollTop = Math.max(0, current.offsetTop - listingWrap.clientHeight / 2);
    }
  }

  function load() {
    try {
      program = assemble(textarea.value, data);
      assembleError = null;
    } catch (err) {
      if (!(err instanceof VMError)) {
        throw err;
      }
      program = null;
      assembleError = err;
    }
    edited.textContent = "";
    buildListing();
    stepper.restart();
  }

  w.on(assembleButton, "click", load);
  w.on(sampleButton, "click", function () {
    textarea.value = data.program;
    load();
  });
  w.on(textarea, "input", function () {
    edited.textContent = w.t("edited");
  });

  w.mount(app);
  load();
});
