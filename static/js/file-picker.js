// A styled file picker ([data-file-picker]): its label becomes the button and the chosen file's
// name shows beside it. Without the script the native input shows, and works the same.
(() => {
  function setUp(picker) {
    const input = picker.querySelector("input[type=file]");
    const name = picker.querySelector("[data-file-name]");
    picker.classList.add("is-enhanced");
    name.hidden = false;
    input.addEventListener("change", () => {
      name.textContent = input.files?.[0]?.name || "No picture chosen";
    });
  }
  const init = () => document.querySelectorAll("[data-file-picker]:not(.is-enhanced)").forEach(setUp);
  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:after:swap", init);
})();
