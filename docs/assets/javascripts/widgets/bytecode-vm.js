/*
 * The bytecode VM widget: the lab's stack machine (docs/labs/bytecode_vm.py) in the browser.
 *
 * The markup comes from overrides/hooks/bytecode_vm.py: a root [data-widget="bytecode-vm"]
 * holding a static listing of the sample and its output ([data-static], for readers
 * without JavaScript) and, as <script type="application/json" data-bytecode-vm-data>,
 * the sample program, the opcode table and the limits, all read from the lab's file.
 * Here the static part is hidden and replaced by the machine: an editor ([data-source]),
 * buttons ([data-action="assemble|sample|step|run|back|reset"]), the listing
 * ([data-offset] rows, the current one aria-current="step"), the stack ([data-stack],
 * top first), the locals ([data-local]), the output ([data-output]), a status line
 * ([data-status]) and errors ([data-error]), both aria-live. The root carries
 * data-state (ready|halted|error), data-pc and data-steps for tests.
 *
 * The assembler and the step function follow the lab's assemble() and step() line by
 * line: same checks in the same order, same error kinds and lines, and the English
 * messages are the lab's messages word for word. Keep them in step. Addresses (offsets,
 * the pc, jump targets) are shown as the lab shows them: hexadecimal, 0x and at least
 * four digits (addr()); a jump target may be written as 15 or 0x0f, as in the lab.
 */
(function () {
  "use strict";

  var STRINGS = {
    ja: {
      intro: "実習と同じVMです。「1歩進む」で1命令ずつ実行し、スタック・ローカル変数・出力の変化を見ましょう。プログラムは書き換えられます。書き換えたら「組み立てる」を押します。",
      source: "プログラム（アセンブリ言語。;から行末まではコメント）",
      assemble: "組み立てる",
      sample: "サンプルに戻す",
      step: "1歩進む",
      run: "最後まで実行",
      back: "1歩戻る",
      reset: "最初から",
      controls: "実行の操作",
      listing: "バイトコード",
      offset: "オフセット",
      bytes: "バイト列",
      line: "行",
      instruction: "命令",
      stack: "スタック（上が先頭）",
      empty: "（空）",
      top: "先頭",
      locals: "ローカル変数",
      name: "名前",
      value: "値",
      unset: "未設定",
      noLocals: "（なし）",
      output: "出力",
      nothing: "（まだ何も表示していません）",
      edited: "プログラムが変更されています。「組み立てる」を押すと反映されます。",
      current: "実行する命令",
      ready: function (n, bytes) {
        return n + "命令・" + bytes + "バイトに組み立てました。pc 0x0000、0ステップ。「1歩進む」で最初の命令を実行します。";
      },
      at: function (pc, steps, line, text) {
        return steps + "ステップ実行しました。pc " + pc + "、次は" + line + "行目の " + text + " です。";
      },
      halted: function (pc, steps) {
        return "HALTで停止しました（pc " + pc + "、" + steps + "ステップ）。";
      },
      stopped: function (pc, steps) {
        return "エラーで停止しました（pc " + pc + "、" + steps + "ステップ）。「1歩戻る」か「最初から」で戻れます。";
      },
      notAssembled: "組み立てられませんでした。プログラムを直して「組み立てる」を押します。",
      error: function (line, message) { return "エラー: " + line + "行目: " + message; },
      messages: {
        duplicateLabel: function (a) { return "ラベル「" + a.label + "」が2回定義されています"; },
        unknownInstruction: function (a) { return "不明な命令「" + a.word + "」です"; },
        takesNoOperand: function (a) { return a.name + "は被演算子（オペランド）を取りません"; },
        needsOperand: function (a) { return a.name + "には被演算子（オペランド）が必要です"; },
        takesOneOperand: function (a) { return a.name + "の被演算子は1つです"; },
        tooLarge: function (a) { return "コードが" + a.max + "バイトを超えています"; },
        needsInteger: function (a) { return a.name + "には整数が必要です（「" + a.operand + "」は整数ではありません）"; },
        doesNotFit: function (a) { return a.value + "は32ビットに収まりません"; },
        needsName: function (a) { return a.name + "には変数名が必要です（「" + a.operand + "」は名前ではありません）"; },
        tooManyLocals: function (a) { return "ローカル変数が" + a.max + "個を超えています"; },
        needsLabel: function (a) { return a.name + "にはラベルか番地が必要です（「" + a.operand + "」はどちらでもありません）"; },
        empty: function () { return "プログラムに命令がありません"; },
        unknownLabel: function (a) { return "ラベル「" + a.label + "」は定義されていません"; },
        outside: function (a) { return "飛び先" + a.target + "がコードの外です（" + a.first + ".." + a.last + "）"; },
        notStart: function (a) { return "飛び先" + a.target + "は命令の先頭ではありません"; },
        badOpcode: function (a) { return a.pc + "に不明なオペコード0x" + a.hex + "があります"; },
        stepLimit: function (a) { return a.limit + "ステップで止めました（無限ループかもしれません）"; },
        underflow: function (a) { return a.name + "にはスタックに" + a.needs + "個の値が必要ですが、" + a.has + "個しかありません"; },
        unsetLocal: function (a) { return "ローカル変数「" + a.local + "」を、値を入れる前に読もうとしました"; },
        ranOffEnd: function () { return "プログラムの終わりを越えました（HALTがありません）"; }
      }
    },
    en: {
      intro: "The same VM as in the lab. Press “Step” to run one instruction at a time and watch the stack, the locals and the output change. You can edit the program; press “Assemble” after editing.",
      source: "Program (assembly; from ; to the end of the line is a comment)",
      assemble: "Assemble",
      sample: "Load the sample",
      step: "Step",
      run: "Run",
      back: "Back",
      reset: "Reset",
      controls: "Run controls",
      listing: "Bytecode",
      offset: "Offset",
      bytes: "Bytes",
      line: "Line",
      instruction: "Instruction",
      stack: "Stack (top first)",
      empty: "(empty)",
      top: "top",
      locals: "Locals",
      name: "Name",
      value: "Value",
      unset: "unset",
      noLocals: "(none)",
      output: "Output",
      nothing: "(nothing printed yet)",
      edited: "The program has changed. Press “Assemble” to use it.",
      current: "next instruction",
      ready: function (n, bytes) {
        return "Assembled: " + count(n, "instruction") + ", " + count(bytes, "byte") + ". pc 0x0000, 0 steps. Press “Step” to run the first instruction.";
      },
      at: function (pc, steps, line, text) {
        return count(steps, "step") + " done. pc " + pc + "; next: line " + line + ", " + text + ".";
      },
      halted: function (pc, steps) {
        return "Stopped at HALT (pc " + pc + ", " + count(steps, "step") + ").";
      },
      stopped: function (pc, steps) {
        return "Stopped by an error (pc " + pc + ", " + count(steps, "step") + "). “Back” or “Reset” goes back.";
      },
      notAssembled: "The program did not assemble. Fix it and press “Assemble”.",
      error: function (line, message) { return "Error: line " + line + ": " + message; },
      // Word for word the lab's messages (docs/labs/bytecode_vm.py).
      messages: {
        duplicateLabel: function (a) { return "label '" + a.label + "' is defined twice"; },
        unknownInstruction: function (a) { return "unknown instruction '" + a.word + "'"; },
        takesNoOperand: function (a) { return a.name + " takes no operand"; },
        needsOperand: function (a) { return a.name + " needs an operand"; },
        takesOneOperand: function (a) { return a.name + " takes one operand"; },
        tooLarge: function (a) { return "the code is longer than " + a.max + " bytes"; },
        needsInteger: function (a) { return a.name + " needs an integer, not '" + a.operand + "'"; },
        doesNotFit: function (a) { return a.value + " does not fit in 32 bits"; },
        needsName: function (a) { return a.name + " needs a variable name, not '" + a.operand + "'"; },
        tooManyLocals: function (a) { return "more than " + a.max + " local variables"; },
        needsLabel: function (a) { return a.name + " needs a label or an offset, not '" + a.operand + "'"; },
        empty: function () { return "the program has no instructions"; },
        unknownLabel: function (a) { return "unknown label '" + a.label + "'"; },
        outside: function (a) { return "jump target " + a.target + " is outside the code (" + a.first + ".." + a.last + ")"; },
        notStart: function (a) { return "jump target " + a.target + " is not the start of an instruction"; },
        badOpcode: function (a) { return "unknown opcode 0x" + a.hex + " at " + a.pc; },
        stepLimit: function (a) { return "stopped after " + a.limit + " steps (an infinite loop?)"; },
        underflow: function (a) {
          return a.name + " needs " + a.needs + " value" + (a.needs > 1 ? "s" : "") + " on the stack, but it has " + a.has;
        },
        unsetLocal: function (a) { return "local '" + a.local + "' is read before it is set"; },
        ranOffEnd: function () { return "ran off the end of the program (no HALT)"; }
      }
    }
  };

  var PREFIX = "bytecode-vm__";
  // Snapshots kept for "Back": enough to step back through any loop a reader follows by
  // hand, and a bound on memory when Run goes to the step limit with a growing stack.
  var HISTORY_LIMIT = 1000;

  function count(n, word) {
    return n + " " + word + (n === 1 ? "" : "s");
  }
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

  // --- the machine (the lab's assemble, decode and step) ------------------------------

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

  // --- the page -----------------------------------------------------------------------

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

  function button(action, label, primary) {
    var b = el("button", "button");
    b.type = "button";
    b.className += " md-button" + (primary ? " md-button--primary" : "");
    b.setAttribute("data-action", action);
    b.textContent = label;
    return b;
  }

  function panel(uid, key, title) {
    var box = el("div", "panel panel--" + key);
    var label = el("p", "panel-title", title);
    label.id = uid + "-" + key;
    box.appendChild(label);
    return box;
  }

  function setup(root, index) {
    var source = root.querySelector("script[data-bytecode-vm-data]");
    if (!source) {
      return;
    }
    var data = JSON.parse(source.textContent);
    data.byCode = {};
    Object.keys(data.opcodes).forEach(function (name) { data.byCode[data.opcodes[name][0]] = name; });
    var strings = STRINGS[data.lang] || STRINGS.en;
    var uid = root.id || "bytecode-vm-" + (index + 1);

    var program = null;
    var state = null;
    var error = null;
    var history = [];
    var assembleError = null;

    var app = el("div", "app");
    app.appendChild(el("p", "intro", strings.intro));

    // --- the editor ----------------------------------------------------------------
    var editor = el("div", "editor");
    var sourceLabel = el("label", "source-label", strings.source);
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
    var editorActions = el("div", "actions");
    var buttons = {
      assemble: button("assemble", strings.assemble, false),
      sample: button("sample", strings.sample, false)
    };
    editorActions.appendChild(buttons.assemble);
    editorActions.appendChild(buttons.sample);
    editor.appendChild(editorActions);
    var edited = el("p", "edited", "");
    edited.setAttribute("data-edited", "");
    editor.appendChild(edited);
    app.appendChild(editor);

    // --- controls, status and errors --------------------------------------------------
    var controls = el("div", "actions actions--run");
    controls.setAttribute("role", "group");
    controls.setAttribute("aria-label", strings.controls);
    ["back", "step", "run", "reset"].forEach(function (action) {
      buttons[action] = button(action, strings[action], action === "step");
      controls.appendChild(buttons[action]);
    });
    app.appendChild(controls);
    var status = el("p", "status");
    status.setAttribute("data-status", "");
    status.setAttribute("aria-live", "polite");
    app.appendChild(status);
    var errorBox = el("div", "error");
    errorBox.setAttribute("data-error", "");
    errorBox.setAttribute("aria-live", "assertive");
    app.appendChild(errorBox);

    // --- the machine's parts ------------------------------------------------------------
    var panels = el("div", "panels");
    var listingPanel = panel(uid, "listing", strings.listing);
    var listingWrap = el("div", "table-wrap");
    listingWrap.setAttribute("role", "region");
    listingWrap.setAttribute("tabindex", "0");
    listingWrap.setAttribute("aria-labelledby", uid + "-listing");
    var listing = el("table", "table listing");
    listing.setAttribute("data-listing", "");
    var head = document.createElement("thead");
    var headRow = document.createElement("tr");
    ["", strings.offset, strings.bytes, strings.line, strings.instruction].forEach(function (text, i) {
      var th = document.createElement(i === 0 ? "td" : "th");
      if (i > 0) {
        th.scope = "col";
      }
      th.textContent = text;
      headRow.appendChild(th);
    });
    head.appendChild(headRow);
    listing.appendChild(head);
    var listingBody = document.createElement("tbody");
    listing.appendChild(listingBody);
    listingWrap.appendChild(listing);
    listingPanel.appendChild(listingWrap);
    panels.appendChild(listingPanel);

    var side = el("div", "side");
    var stackPanel = panel(uid, "stack", strings.stack);
    var stackList = el("ol", "stack");
    stackList.setAttribute("data-stack", "");
    stackList.setAttribute("aria-labelledby", uid + "-stack");
    stackPanel.appendChild(stackList);
    var stackEmpty = el("p", "empty", strings.empty);
    stackPanel.appendChild(stackEmpty);
    side.appendChild(stackPanel);

    var localsPanel = panel(uid, "locals", strings.locals);
    var localsTable = el("table", "table locals");
    localsTable.setAttribute("data-locals", "");
    localsTable.setAttribute("aria-labelledby", uid + "-locals");
    var localsHead = document.createElement("thead");
    localsHead.innerHTML = "<tr><th scope=\"col\"></th><th scope=\"col\"></th></tr>";
    localsHead.querySelectorAll("th")[0].textContent = strings.name;
    localsHead.querySelectorAll("th")[1].textContent = strings.value;
    localsTable.appendChild(localsHead);
    var localsBody = document.createElement("tbody");
    localsTable.appendChild(localsBody);
    localsPanel.appendChild(localsTable);
    var localsNone = el("p", "empty", strings.noLocals);
    localsPanel.appendChild(localsNone);
    side.appendChild(localsPanel);

    var outputPanel = panel(uid, "output", strings.output);
    var outputLive = el("div", "output-live");
    outputLive.setAttribute("aria-live", "polite");
    var outputList = el("ol", "output");
    outputList.setAttribute("data-output", "");
    outputList.setAttribute("aria-labelledby", uid + "-output");
    outputLive.appendChild(outputList);
    var outputNone = el("p", "empty", strings.nothing);
    outputLive.appendChild(outputNone);
    outputPanel.appendChild(outputLive);
    side.appendChild(outputPanel);
    panels.appendChild(side);
    app.appendChild(panels);

    // --- behaviour ------------------------------------------------------------------------
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
          var cell = i === 3 ? document.createElement("th") : document.createElement("td");
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

    function message(err) {
      return strings.error(err.line, strings.messages[err.key](err.args));
    }

    function showError(err, sourceLines) {
      errorBox.textContent = "";
      if (!err) {
        root.removeAttribute("data-error-kind");
        root.removeAttribute("data-error-line");
        errorBox.removeAttribute("data-kind");
        errorBox.removeAttribute("data-line");
        return;
      }
      root.setAttribute("data-error-kind", err.kind);
      root.setAttribute("data-error-line", String(err.line));
      errorBox.setAttribute("data-kind", err.kind);
      errorBox.setAttribute("data-line", String(err.line));
      errorBox.appendChild(el("p", "error-message", message(err)));
      var text = sourceLines[err.line - 1];
      if (text !== undefined) {
        var lineNo = String(err.line);
        while (lineNo.length < 4) { lineNo = " " + lineNo; }
        errorBox.appendChild(el("pre", "error-line", lineNo + " | " + text.replace(/\s+$/, "")));
      }
    }

    function render() {
      if (!program) {
        root.setAttribute("data-state", "error");
        root.setAttribute("data-pc", "0");
        root.setAttribute("data-steps", "0");
        status.textContent = strings.notAssembled;
        showError(assembleError, textarea.value.split("\n"));
        ["step", "run", "back", "reset"].forEach(function (a) { buttons[a].disabled = true; });
        stackList.textContent = "";
        localsBody.textContent = "";
        outputList.textContent = "";
        stackEmpty.hidden = localsNone.hidden = outputNone.hidden = false;
        localsTable.hidden = true;
        return;
      }
      root.setAttribute("data-state", error ? "error" : state.halted ? "halted" : "ready");
      root.setAttribute("data-pc", String(state.pc));
      root.setAttribute("data-steps", String(state.steps));
      Object.keys(rows).forEach(function (pc) {
        var row = rows[pc];
        var current = Number(pc) === state.pc;
        var failed = error && Number(row.getAttribute("data-line")) === error.line &&
          (Number(pc) === state.pc || error.kind === "ran-off-end");
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
      state.stack.slice().reverse().forEach(function (value, i) {
        var item = el("li", "stack-item");
        item.setAttribute("data-value", String(value));
        item.appendChild(el("span", "stack-value", String(value)));
        if (i === 0) {
          item.appendChild(el("span", "stack-top", strings.top));
        }
        stackList.appendChild(item);
      });
      stackEmpty.hidden = state.stack.length > 0;
      localsBody.textContent = "";
      program.names.forEach(function (name, slot) {
        var row = document.createElement("tr");
        row.setAttribute("data-local", name);
        var th = document.createElement("th");
        th.scope = "row";
        th.textContent = name;
        var td = document.createElement("td");
        var value = state.locals[slot];
        td.textContent = value === null ? strings.unset : String(value);
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
      while (outputList.children.length > state.output.length) {
        outputList.removeChild(outputList.lastChild);
      }
      for (var i = outputList.children.length; i < state.output.length; i++) {
        outputList.appendChild(el("li", "output-item", String(state.output[i])));
      }
      outputNone.hidden = state.output.length > 0;
      var pc = addr(state.pc);
      if (error) {
        status.textContent = strings.stopped(pc, state.steps);
      } else if (state.halted) {
        status.textContent = strings.halted(pc, state.steps);
      } else if (state.steps === 0) {
        status.textContent = strings.ready(Object.keys(program.lines).length, program.code.length);
      } else {
        status.textContent = strings.at(pc, state.steps, program.lines[state.pc], show(program, state.pc, data));
      }
      showError(error, program.source);
      buttons.step.disabled = buttons.run.disabled = Boolean(error) || state.halted;
      buttons.back.disabled = history.length === 0;
      buttons.reset.disabled = state.steps === 0 && !error;
      var current = rows[state.pc];
      if (current && current.scrollIntoView && listingWrap.scrollHeight > listingWrap.clientHeight) {
        var top = current.offsetTop - listingWrap.clientHeight / 2;
        listingWrap.scrollTop = Math.max(0, top);
      }
    }

    function load() {
      try {
        program = assemble(textarea.value, data);
        assembleError = null;
        state = newState(program);
      } catch (err) {
        if (!(err instanceof VMError)) {
          throw err;
        }
        program = null;
        state = null;
        assembleError = err;
      }
      error = null;
      history = [];
      edited.textContent = "";
      buildListing();
      render();
    }

    function stepOnce() {
      if (history.length === HISTORY_LIMIT) {
        history.shift();
      }
      history.push(copyState(state));
      try {
        step(program, state, data);
      } catch (err) {
        if (!(err instanceof VMError)) {
          throw err;
        }
        error = err;
      }
    }

    function keepFocus(b) {
      // A button that became disabled loses focus: move it to one that still works.
      if (document.activeElement === b && b.disabled) {
        (buttons.back.disabled ? buttons.assemble : buttons.back).focus();
      }
    }

    buttons.step.addEventListener("click", function () {
      if (program && !error && !state.halted) {
        stepOnce();
        render();
      }
      keepFocus(buttons.step);
    });
    buttons.run.addEventListener("click", function () {
      while (program && !error && !state.halted) {
        stepOnce();
      }
      render();
      keepFocus(buttons.run);
    });
    buttons.back.addEventListener("click", function () {
      if (history.length) {
        state = history.pop();
        error = null;
        render();
      }
      keepFocus(buttons.back);
    });
    buttons.reset.addEventListener("click", function () {
      if (program) {
        state = newState(program);
        error = null;
        history = [];
        render();
      }
      keepFocus(buttons.reset);
    });
    buttons.assemble.addEventListener("click", load);
    buttons.sample.addEventListener("click", function () {
      textarea.value = data.program;
      load();
    });
    textarea.addEventListener("input", function () {
      edited.textContent = strings.edited;
    });

    root.querySelector("[data-static]").hidden = true;
    root.insertBefore(app, source);
    root.setAttribute("data-ready", "");
    load();
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll('[data-widget="bytecode-vm"]'), setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
