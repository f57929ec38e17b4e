// The API reference (web/api/reference.py): Swagger UI over the OpenAPI document named by
// data-api-reference. Configured here rather than in an inline script, which the pages' CSP
// refuses.
(() => {
  const root = document.querySelector("[data-api-reference]");
  if (!root || !window.SwaggerUIBundle) return;

  // Swagger UI leaves a few controls without an accessible name (axe: button-name, label):
  // named as they appear.
  const NAMES = [
    ["button.close-modal", "Close"],
    ["textarea.body-param__text", "Request body"],
    ["select.examples-select-element", "Example"],
  ];
  function name(node) {
    for (const [selector, label] of NAMES) {
      for (const el of node.querySelectorAll(selector)) {
        if (!el.hasAttribute("aria-label")) el.setAttribute("aria-label", label);
      }
    }
  }
  new MutationObserver(() => name(document.body)).observe(document.body, { childList: true, subtree: true });

  SwaggerUIBundle({
    url: root.dataset.apiReference,
    domNode: root,
    defaultModelsExpandDepth: -1, // each operation shows its own schemas; no list of all of them
    validatorUrl: null, // no badge fetched from another site
    tryItOutEnabled: false,
    syntaxHighlight: false, // its themes colour numbers and strings below 4.5:1
  });
})();
