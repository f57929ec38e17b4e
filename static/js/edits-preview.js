// The edits preview ([data-edits][data-preview-url]): when a picture is chosen and enhance or a
// background edit is on, a small copy of it (long edge 512 px, JPEG) goes to the server, which
// answers the square with the edits made by the same code as the upload's variants: what is
// shown is what the upload will give, not a canvas imitation. Nothing is kept by the server.
// On the re-crop page the picture is not chosen but named, data-preview-source (the version's
// master turned as the page shows it, already in the browser's cache for the cropper), and the
// copy is made of it the same way. The preview follows the crop circle ("crop:change" from
// static/js/cropper.js), once it rests: a drag is one preview, not one a pixel; the Rotate
// links ([data-rotate]) carry the choices, so the turned page previews them at once.
// Without scripts the same fields are simply sent with the upload.
(() => {
  const LONG_EDGE = 512;
  const REST_MS = 400; // the circle still this long: the member has let it go
  const SENT = ["_csrf_token", "cropX", "cropY", "cropSize", "enhance", "backgroundColor"];
  let pending = null;
  let resting = null;
  let shownFor = ""; // what the preview on show was made of: the same again sends nothing
  const chosen = (form) => form.querySelector("input[type=file]")?.files?.[0];
  async function source(fieldset, form, signal) {
    const url = fieldset.dataset.previewSource;
    if (!url) return chosen(form);
    const answer = await fetch(url, { cache: "force-cache", credentials: "same-origin", signal });
    if (!answer.ok) throw new Error("The picture could not be read for the preview; saving still works.");
    return answer.blob();
  }
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
    clearTimeout(resting);
    if (!figure || !form || !(fieldset.dataset.previewSource || chosen(form)) || !editsOn(form)) {
      pending?.abort(); // an answer still on its way must not show edits turned off since
      pending = null;
      shownFor = "";
      if (figure) figure.hidden = true;
      return;
    }
    const fields = SENT.map((name) => form.querySelector(`[name=${name}]`))
      .filter((field) => field && (field.type !== "checkbox" || field.checked));
    const background = form.querySelector("[name=background]:checked")?.value ?? "keep";
    const file = chosen(form);
    const key = JSON.stringify([fieldset.dataset.previewSource ?? "", file?.name, file?.size,
      file?.lastModified, background, ...fields.map((field) => [field.name, field.value])]);
    if (key === shownFor && !pending) return; // a circle let go where it was: nothing new to show
    pending?.abort();
    const request = (pending = new AbortController());
    shownFor = "";
    figure.dataset.state = "loading";
    state.textContent = "Making the preview…";
    try {
      const body = new FormData();
      const picture = await source(fieldset, form, request.signal);
      body.append("profilePicture", await smallCopy(picture), "small.jpg");
      for (const field of fields) body.append(field.name, field.value);
      body.append("background", background);
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
      pending = null;
      shownFor = key;
      figure.hidden = false;
      figure.dataset.state = "ready";
      figure.dataset.previews = String(Number(figure.dataset.previews ?? 0) + 1);
      state.textContent = "Preview with your edits";
    } catch (error) {
      if (request.signal.aborted) return;
      pending = null;
      figure.dataset.state = "error";
      state.textContent = error.message; // HEIC in most browsers: no small copy can be drawn
    }
    figure.hidden = false;
  }
  function carry(form) { // what the Rotate links say: the choices as they are now
    const background = form.querySelector("[name=background]:checked")?.value ?? "keep";
    const edits = {
      enhance: form.querySelector("[name=enhance]")?.checked ? "on" : "",
      background: background === "keep" ? "" : background,
      backgroundColor: background === "color" ? form.querySelector("[name=backgroundColor]").value : "",
    };
    for (const link of form.querySelectorAll("a[data-rotate]")) {
      const url = new URL(link.href);
      for (const [name, value] of Object.entries(edits)) {
        if (value) url.searchParams.set(name, value); else url.searchParams.delete(name);
      }
      link.href = url.href;
    }
  }
  const previewOf = (form) => form?.querySelector("[data-edits][data-preview-url]");
  document.addEventListener("change", (event) => {
    const fieldset = previewOf(event.target.form);
    if (!fieldset) return;
    if (fieldset.dataset.previewSource) carry(event.target.form);
    refresh(fieldset);
  });
  document.addEventListener("crop:change", (event) => {
    const fieldset = previewOf(event.target.closest("form"));
    if (!fieldset) return;
    clearTimeout(resting);
    resting = setTimeout(() => refresh(fieldset), REST_MS);
  });
  document.addEventListener("DOMContentLoaded", () => { // a re-crop page shown again with edits on
    document.querySelectorAll("[data-edits][data-preview-source]").forEach(refresh);
  });
})();
