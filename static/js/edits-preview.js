// The edits preview ([data-edits][data-preview-url]): when a picture is chosen and enhance or a
// background edit is on, a small copy of it (long edge 512 px, JPEG) goes to the server, which
// answers the square with the edits made by the same code as the upload's variants: what is
// shown is what the upload will give, not a canvas imitation. Nothing is kept by the server.
// Without scripts the same fields are simply sent with the upload.
(() => {
  const LONG_EDGE = 512;
  let pending = null;
  const chosen = (form) => form.querySelector("input[type=file]")?.files?.[0];
  const editsOn = (form) => form.querySelector("[name=enhance]")?.checked
    || (form.querySelector("[name=background]:checked")?.value ?? "keep") !== "keep";
  const encode = (canvas) => new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
  async function smallCopy(file) {
    const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    const scale = Math.min(1, LONG_EDGE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    return encode(canvas);
  }
  async function refresh(fieldset) {
    const form = fieldset.form ?? fieldset.closest("form");
    const figure = fieldset.querySelector("[data-edits-preview]");
    const state = fieldset.querySelector("[data-edits-preview-state]");
    const file = form && chosen(form);
    if (!figure || !file || !editsOn(form)) {
      if (figure) figure.hidden = true;
      return;
    }
    pending?.abort();
    const request = (pending = new AbortController());
    figure.dataset.state = "loading";
    state.textContent = "Making the preview…";
    try {
      const body = new FormData();
      body.append("profilePicture", await smallCopy(file), "small.jpg");
      for (const name of ["_csrf_token", "cropX", "cropY", "cropSize", "enhance", "backgroundColor"]) {
        const field = form.querySelector(`[name=${name}]`);
        if (field && (field.type !== "checkbox" || field.checked)) body.append(name, field.value);
      }
      body.append("background", form.querySelector("[name=background]:checked")?.value ?? "keep");
      const answer = await fetch(fieldset.dataset.previewUrl, { method: "POST", body, signal: request.signal });
      if (!answer.ok) {
        const reason = (await answer.json().catch(() => null))?.error;
        throw new Error(reason ?? "The preview could not be made; the upload still works.");
      }
      const image = figure.querySelector("img");
      if (image.src) URL.revokeObjectURL(image.src);
      const shown = await answer.blob();
      await new Promise((resolve) => { // "ready" once the browser has decoded it
        image.addEventListener("load", resolve, { once: true });
        image.addEventListener("error", resolve, { once: true });
        image.src = URL.createObjectURL(shown);
      });
      if (request.signal.aborted) return;
      figure.hidden = false;
      figure.dataset.state = "ready";
      figure.dataset.previews = String(Number(figure.dataset.previews ?? 0) + 1);
      state.textContent = "Preview with your edits";
    } catch (error) {
      if (request.signal.aborted) return;
      figure.dataset.state = "error";
      state.textContent = error.message; // HEIC in most browsers: no small copy can be drawn
    }
    figure.hidden = false;
  }
  document.addEventListener("change", (event) => {
    const form = event.target.form;
    const fieldset = form?.querySelector("[data-edits][data-preview-url]");
    if (fieldset) refresh(fieldset);
  });
})();
