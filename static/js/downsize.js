// Big phone photos ([data-downsize] forms): a still JPEG, PNG or WebP over the upload cap
// (data-max-bytes) or the pixel limit (data-max-pixels) is redrawn in the browser before it is
// sent: orientation applied, long edge at most 4096 px, JPEG (WebP when it has transparency)
// within the cap. Animations are never touched; the server's checks stay the authority. While it
// works, the upload's progress bar shows "Preparing picture…" (static/js/upload-progress.js).
(() => {
  const LONG_EDGE = 4096;
  async function isAnimated(file) {
    const head = new Uint8Array(await file.slice(0, 4096).arrayBuffer());
    const text = String.fromCharCode(...head);
    return (file.type === "image/webp" && text.includes("ANIM")) || (file.type === "image/png" && text.includes("acTL"));
  }
  const encode = (canvas, type, quality) => new Promise((resolve) => canvas.toBlob(resolve, type, quality));
  async function downsize(file, maxBytes) {
    const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    const scale = Math.min(1, LONG_EDGE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const type = file.type === "image/jpeg" ? "image/jpeg" : "image/webp";
    for (const quality of [0.9, 0.82, 0.72, 0.6, 0.5]) {
      const blob = await encode(canvas, type, quality);
      if (blob && blob.size <= maxBytes) {
        const name = file.name.replace(/\.[^.]*$/, "") + (type === "image/jpeg" ? ".jpg" : ".webp");
        return new File([blob], name, { type });
      }
    }
    return null; // still too big: send the original and let the server say why
  }
  async function pixels(file) {
    const bitmap = await createImageBitmap(file);
    const count = bitmap.width * bitmap.height;
    bitmap.close();
    return count;
  }
  document.addEventListener("change", async (event) => {
    const input = event.target;
    const form = input.closest?.("[data-downsize]");
    if (!form || input.type !== "file" || input.dataset.downsized === "true") return;
    const file = input.files?.[0];
    if (!file || !["image/jpeg", "image/png", "image/webp"].includes(file.type)) return;
    const maxBytes = Number(form.dataset.maxBytes), maxPixels = Number(form.dataset.maxPixels);
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    form.setAttribute("aria-busy", "true");
    let preparing = false;
    try {
      if (await isAnimated(file)) return;
      if (file.size <= maxBytes && (await pixels(file)) <= maxPixels) return;
      preparing = true;
      input.dispatchEvent(new Event("upload:preparing", { bubbles: true })); // the progress bar's first phase
      const smaller = await downsize(file, maxBytes);
      if (!smaller) return;
      const files = new DataTransfer();
      files.items.add(smaller);
      input.files = files.files;
      input.dataset.downsized = "true"; // the change below is ours: do not downsize it again
      input.dispatchEvent(new Event("change", { bubbles: true }));
      delete input.dataset.downsized;
    } catch (error) {
      console.warn("downsizing failed; sending the original", error);
    } finally {
      if (preparing) input.dispatchEvent(new Event("upload:prepared", { bubbles: true }));
      submit.disabled = false;
      form.removeAttribute("aria-busy");
    }
  });
})();
