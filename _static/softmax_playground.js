/*
 * Softmax playground for chapter 4: the reader edits logits and sees the naive softmax
 * exp(z) / sum(exp(z)) next to the stable one exp(z - max) / sum(exp(z - max)), both in float32.
 *
 * Every intermediate result is rounded to float32 with Math.fround, so overflow (exp of a
 * number above about 88.72 is Infinity), underflow and the resulting NaN appear exactly where
 * PyTorch's float32 computation shows them. The script requests nothing from the network; it
 * only enhances elements <div class="softmax-playground" data-logits="..."> on the page and does
 * nothing on pages without one.
 */
(function () {
  "use strict";

  var f32 = Math.fround;

  /** Parse "1000, 1001 999" into numbers; returns {values} or {error: message}. */
  function parseLogits(text) {
    var parts = text.split(/[\s,;]+/).filter(function (s) { return s.length > 0; });
    if (parts.length === 0) {
      return { error: "Enter at least one logit, for example 1000, 1001, 999." };
    }
    if (parts.length > 12) {
      return { error: "Enter at most 12 logits (you entered " + parts.length + ")." };
    }
    var values = [];
    for (var i = 0; i < parts.length; i++) {
      var v = Number(parts[i]);
      if (parts[i].toLowerCase() === "inf" || parts[i] === "+inf") { v = Infinity; }
      if (parts[i].toLowerCase() === "-inf") { v = -Infinity; }
      if (Number.isNaN(v)) {
        return { error: "'" + parts[i] + "' is not a number: use digits, a minus sign, " +
          "a decimal point, e or -inf." };
      }
      values.push(f32(v)); // the logits themselves are float32 numbers
    }
    return { values: values };
  }

  /** Sum left to right, rounding every partial sum to float32. */
  function sum32(xs) {
    var total = 0;
    for (var i = 0; i < xs.length; i++) { total = f32(total + xs[i]); }
    return total;
  }

  function exp32(x) { return f32(Math.exp(x)); }

  /** Naive and stable softmax of float32 logits, with the intermediate vectors. */
  function softmaxes(z) {
    var e = z.map(exp32);
    var s = sum32(e);
    var naive = e.map(function (v) { return f32(v / s); });
    var m = z.reduce(function (a, b) { return Math.max(a, b); }, -Infinity);
    var shifted = z.map(function (v) { return exp32(f32(v - m)); });
    var t = sum32(shifted);
    var stable = shifted.map(function (v) { return f32(v / t); });
    return { e: e, s: s, naive: naive, m: m, shifted: shifted, t: t, stable: stable };
  }

  function show(x) {
    if (Number.isNaN(x)) { return "NaN"; }
    if (x === Infinity) { return "inf"; }
    if (x === -Infinity) { return "-inf"; }
    if (x === 0) { return "0"; }
    var a = Math.abs(x);
    return (a >= 1e-4 && a < 1e6) ? String(Number(x.toPrecision(7))) : x.toExponential(4);
  }

  /** One sentence saying why the naive result is what it is. */
  function diagnosis(r) {
    var naiveBad = r.naive.some(function (v) { return !Number.isFinite(v); });
    if (!naiveBad) {
      return "Both formulas agree: every exp(z) is a finite float32 and the sum is positive.";
    }
    if (r.e.some(function (v) { return v === Infinity; })) {
      return "Naive: exp overflows float32 (above about 88.72), so it divides inf by inf = NaN. " +
        "Stable: exp(z - max) is at most 1, so nothing overflows.";
    }
    if (r.s === 0) {
      return "Naive: every exp(z) underflows to 0, so it divides 0 by 0 = NaN. " +
        "Stable: the largest term is exp(0) = 1, so the sum is at least 1.";
    }
    return "Naive: the input contains values for which no softmax exists (NaN or +inf).";
  }

  function cell(tag, text, cls) {
    var el = document.createElement(tag);
    el.textContent = text;
    if (cls) { el.className = cls; }
    return el;
  }

  function render(widget, table, message, text) {
    var parsed = parseLogits(text);
    table.textContent = "";
    if (parsed.error) {
      message.textContent = parsed.error;
      message.className = "softmax-playground-message softmax-playground-error";
      widget.dataset.state = "error";
      return;
    }
    var r = softmaxes(parsed.values);
    var head = document.createElement("tr");
    ["logit z", "exp(z)", "naive softmax", "exp(z - max)", "stable softmax"].forEach(
      function (h) { head.appendChild(cell("th", h)); });
    table.appendChild(head);
    for (var i = 0; i < parsed.values.length; i++) {
      var row = document.createElement("tr");
      row.appendChild(cell("td", show(parsed.values[i])));
      row.appendChild(cell("td", show(r.e[i])));
      row.appendChild(cell("td", show(r.naive[i]),
        Number.isFinite(r.naive[i]) ? "softmax-naive" : "softmax-naive softmax-bad"));
      row.appendChild(cell("td", show(r.shifted[i])));
      row.appendChild(cell("td", show(r.stable[i]), "softmax-stable"));
      table.appendChild(row);
    }
    var total = document.createElement("tr");
    total.appendChild(cell("td", "sum"));
    total.appendChild(cell("td", show(r.s)));
    total.appendChild(cell("td", show(sum32(r.naive))));
    total.appendChild(cell("td", show(r.t)));
    total.appendChild(cell("td", show(sum32(r.stable))));
    table.appendChild(total);
    message.textContent = diagnosis(r);
    message.className = "softmax-playground-message";
    widget.dataset.state = "ok";
  }

  function build(widget) {
    if (widget.dataset.ready) { return; }
    widget.dataset.ready = "1";
    var label = cell("label", "Logits (float32): ");
    var input = document.createElement("input");
    input.type = "text";
    input.value = widget.dataset.logits || "1000, 1001, 999";
    input.size = 32;
    input.setAttribute("aria-label", "logits, separated by commas");
    label.appendChild(input);
    var presets = document.createElement("div");
    presets.className = "softmax-playground-presets";
    ["1, 2, 3", "88, 89", "1000, 1000", "-120, -121", "0, -200, -inf"].forEach(function (p) {
      var b = cell("button", p);
      b.type = "button";
      b.addEventListener("click", function () {
        input.value = p;
        render(widget, table, message, p);
      });
      presets.appendChild(b);
    });
    var table = document.createElement("table");
    table.className = "softmax-playground-table";
    var message = cell("p", "", "softmax-playground-message");
    message.setAttribute("aria-live", "polite");
    widget.appendChild(label);
    widget.appendChild(presets);
    widget.appendChild(table);
    widget.appendChild(message);
    input.addEventListener("input", function () { render(widget, table, message, input.value); });
    render(widget, table, message, input.value);
  }

  function init() {
    var widgets = document.querySelectorAll(".softmax-playground");
    for (var i = 0; i < widgets.length; i++) { build(widgets[i]); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
