// Dropping a picture anywhere on a [data-drop-zone] form puts it in the form's file input,
// as if it had been chosen: the preview and cropper follow from the input's change event.
(() => {
  const zoneOf = (event) => event.target.closest?.("[data-drop-zone]");
  const showHints = () => document.querySelectorAll("[data-drop-zone] [data-drop-hint]").forEach((hint) => { hint.hidden = false; });
  document.addEventListener("DOMContentLoaded", showHints);
  document.addEventListener("htmx:after:swap", showHints);
  const carriesFiles = (event) => [...(event.dataTransfer?.types || [])].includes("Files");

  document.addEventListener("dragover", (event) => {
    const zone = zoneOf(event);
    if (!zone || !carriesFiles(event)) return;
    event.preventDefault();
    zone.classList.add("is-dragging");
  });
  document.addEventListener("dragleave", (event) => zoneOf(event)?.classList.remove("is-dragging"));
  document.addEventListener("drop", (event) => {
    const zone = zoneOf(event);
    if (!zone || !carriesFiles(event)) return;
    event.preventDefault();
    zone.classList.remove("is-dragging");
    const input = zone.querySelector("input[type=file]");
    input.files = event.dataTransfer.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
})();
