// After an in-place swap of a part of <main> (upload, delete, restore, undo...), focus moves to
// the message the new part carries ([data-focus-after-swap]: a notice, or the upload form's
// error), so keyboard and screen-reader users hear the outcome and go on from there, not from
// <body>. Watching <main>'s children (not htmx's events) leaves avatar refreshes out.
(() => {
  function watch(main) {
    new MutationObserver((records) => {
      for (const record of records) {
        for (const node of record.addedNodes) {
          const target = node.nodeType === 1 && (node.matches("[data-focus-after-swap]") ? node : node.querySelector("[data-focus-after-swap]"));
          if (target) return target.focus();
        }
      }
    }).observe(main, { childList: true });
  }
  document.addEventListener("DOMContentLoaded", () => {
    const main = document.querySelector("main");
    if (main) watch(main);
  });
})();
