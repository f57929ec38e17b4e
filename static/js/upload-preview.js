// Shows the chosen file beside the upload form before it is sent ([data-upload-preview]).
// A picture the browser cannot show (HEIC in most browsers) hides the preview again: the
// server still takes it, and cuts its own default square (static/js/cropper.js).
document.addEventListener("change", (event) => {
  const input = event.target;
  if (!(input instanceof HTMLInputElement) || input.type !== "file") return;
  const preview = input.form?.querySelector("[data-upload-preview]");
  if (!preview) return;
  if (preview.src) URL.revokeObjectURL(preview.src);
  const file = input.files?.[0];
  preview.hidden = !file || !file.type.startsWith("image/");
  if (!preview.hidden) {
    preview.addEventListener("error", () => { preview.hidden = true; }, { once: true });
    preview.src = URL.createObjectURL(file);
  }
});
