/*
 * Typeset the mathematics in the search page's results.
 *
 * Sphinx's search shows under each result an excerpt of the page's text, in which formulas are
 * raw TeX ("\(\Omega\)") cut wherever 240 characters end. On the search page only (Jupyter Book
 * loads every script in _static/ on every page; elsewhere this does nothing), this script widens
 * each excerpt so that it never cuts a formula in two and typesets the excerpt's formulas as it
 * is made, with MathJax (which _ext/book_assets.py adds to the search page).
 */
"use strict";

(() => {
  const FORMULA = /\\\([\s\S]*?\\\)|\\\[[\s\S]*?\\\]/g;

  // The [start, end) window of `text` of about `length` characters from `start`, widened so that
  // it begins and ends outside every formula.
  const wholeFormulas = (text, start, length) => {
    let end = Math.min(start + length, text.length);
    for (const match of text.matchAll(FORMULA)) {
      const first = match.index;
      const last = match.index + match[0].length;
      if (first < start && start < last) start = first;
      if (first < end && end < last) end = last;
    }
    return [start, end];
  };

  // `text` as text and typeset formulas, at once (so that Sphinx's highlighting of the search
  // terms, which runs next, cannot split a formula); raw TeX where MathJax is not ready.
  const rendered = (text) => {
    const mathjax = window.MathJax;
    const ready = mathjax && typeof mathjax.tex2chtml === "function";
    const fragment = document.createDocumentFragment();
    let at = 0;
    for (const match of text.matchAll(FORMULA)) {
      fragment.append(text.slice(at, match.index));
      let node = match[0];
      if (ready) {
        try {
          const display = match[0].startsWith("\\[");
          node = mathjax.tex2chtml(match[0].slice(2, -2), { display });
        } catch (error) {
          node = match[0];
        }
      }
      fragment.append(node);
      at = match.index + match[0].length;
    }
    fragment.append(text.slice(at));
    if (ready) {
      // MathJax adds the CSS of the characters it has just laid out.
      queueMicrotask(() => {
        mathjax.startup.document.clear();
        mathjax.startup.document.updateDocument();
      });
    }
    return fragment;
  };

  // Typesets the raw formulas left in `element` once MathJax is ready (it was not, earlier).
  const typesetLater = (element) => {
    const mathjax = window.MathJax;
    if (mathjax && typeof mathjax.tex2chtml !== "function" && mathjax.startup) {
      mathjax.startup.promise.then(() => mathjax.typesetPromise([element]));
    }
  };

  const install = () => {
    if (typeof Search === "undefined" || !document.getElementById("search-results")) return;

    // As Sphinx's own makeSearchSummary (Sphinx 7.4), with whole formulas.
    Search.makeSearchSummary = (htmlText, keywords, anchor) => {
      const text = Search.htmlToText(htmlText, anchor);
      if (text === "") return null;
      const textLower = text.toLowerCase();
      const found = [...keywords]
        .map((keyword) => textLower.indexOf(keyword.toLowerCase()))
        .filter((i) => i > -1)
        .slice(-1)[0];
      // No keyword found as written (a stemmed match): from the start, as Sphinx does.
      const from = found === undefined ? 0 : Math.max(found - 120, 0);
      const [start, end] = wholeFormulas(text, from, 240);
      const summary = document.createElement("p");
      summary.classList.add("context");
      summary.append(
        start === 0 ? "" : "...",
        rendered(text.substring(start, end).trim()),
        end < text.length ? "..." : "",
      );
      typesetLater(summary);
      return summary;
    };
  };

  // Before Sphinx's Search.init, which runs the query on the same event (registered later).
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", install);
  } else {
    install();
  }
})();
