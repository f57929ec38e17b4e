// Copy buttons (data-copy="ID": the element whose text or value is copied). Without JavaScript,
// or where the clipboard is not offered (a page not served over https or localhost), they stay
// hidden and the text stays selectable.
(() => {
  function reveal(root) {
    if (!navigator.clipboard) return;
    for (const button of root.querySelectorAll("button[data-copy]")) button.hidden = false;
  }
  document.addEventListener("click", async (e) => {
    const button = e.target.closest?.("button[data-copy]");
    if (!button) return;
    const source = document.getElementById(button.dataset.copy);
    if (!source) return;
    try {
      await navigator.clipboard.writeText(source.value ?? source.textContent.trim());
      button.textContent = "Copied";
    } catch {
      button.textContent = "Select and copy";
    }
    setTimeout(() => { button.textContent = "Copy"; }, 2000);
  });
  document.addEventListener("htmx:after:swap", () => reveal(document));
  reveal(document);
})();
