// The API reference (web/api/reference.py): Swagger UI over the OpenAPI document named by
// data-api-reference. Configured here rather than in an inline script, which the pages' CSP
// refuses.
(() => {
  const root = document.querySelector("[data-api-reference]");
  if (!root || !window.SwaggerUIBundle) return;

  // What Swagger UI leaves out or gets wrong for assistive technology (axe: button-name, label,
  // select-name; its Authorize pop-up is no dialog to a screen reader, and its token field is
  // named by its id), set as its elements appear.
  const FIXES = [
    [".modal-ux", { role: "dialog", "aria-modal": "true", "aria-label": "Available authorizations" }],
    ["button.close-modal", { "aria-label": "Close this dialog" }],
    ["textarea.body-param__text", { "aria-label": "Request body" }],
    ["select.examples-select-element", { "aria-label": "Example" }],
    ["input#auth-bearer-value", { "aria-label": "Bearer token" }],
  ];
  function set() {
    for (const [selector, attributes] of FIXES) {
      for (const el of root.querySelectorAll(selector)) {
        for (const [name, value] of Object.entries(attributes)) {
          if (el.getAttribute(name) !== value) el.setAttribute(name, value);
        }
      }
    }
  }
  new MutationObserver(set).observe(root, { childList: true, subtree: true });

  SwaggerUIBundle({
    url: root.dataset.apiReference,
    domNode: root,
    defaultModelsExpandDepth: -1, // each operation shows its own schemas; no list of all of them
    validatorUrl: null, // no badge fetched from another site
    tryItOutEnabled: false,
    syntaxHighlight: false, // its themes colour numbers and strings below 4.5:1
  });
})();
