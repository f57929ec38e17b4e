// Shows the chosen file beside the upload form before it is sent ([data-upload-preview]).
document.addEventListener("change", (event) => {
  const input = event.target;
  if (!(input instanceof HTMLInputElement) || input.type !== "file") return;
  const preview = input.form?.querySelector("[data-upload-preview]");
  if (!preview) return;
  if (preview.src) URL.revokeObjectURL(preview.src);
  const file = input.files?.[0];
  preview.hidden = !file || !file.type.startsWith("image/");
  if (!preview.hidden) preview.src = URL.createObjectURL(file);
});
