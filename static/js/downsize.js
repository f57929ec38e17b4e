// Every redraw of the chosen picture in the browser ([data-downsize] forms), once
// static/js/upload-check.js has told its type ("upload:checked"):
// - a still JPEG, PNG or WebP over the upload cap (data-max-bytes) or the pixel limit
//   (data-max-pixels) is redrawn before it is sent: orientation applied, long edge at most
//   4096 px, JPEG (WebP when it has transparency) within the cap, under the chosen file's own
//   name (history names the file the member chose). While it works, the upload's progress bar
//   shows "Preparing picture…" (static/js/upload-progress.js). A picture over the cap that
//   cannot be redrawn (an animation, GIF, HEIC, AVIF) is refused at once, in the server's words.
// - then a small copy of it (data-suggest-edge px on its long side, at most 512: the size the
//   server's face search works at, web/routes/profile_page.py; WebP within
//   data-suggest-max-bytes, tens of KB) is made for the crop suggestion, the only thing sent
//   before Upload is pressed ("upload:ready", static/js/cropper.js). Animations (which keep the
//   centre) and pictures the browser cannot decode (HEIC) get none. The server's checks stay
//   the authority.
(() => {
  const LONG_EDGE = 4096;
  const SHRINKABLE = ["JPEG", "PNG", "WEBP"];
  const encode = (canvas, type, quality) => new Promise((resolve) => canvas.toBlob(resolve, type, quality));
  function drawn(bitmap, edge) {
    const scale = Math.min(1, edge / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    const context = canvas.getContext("2d");
    context.imageSmoothingQuality = "high"; // a small copy, not an aliased one: faces stay faces
    context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    return canvas;
  }
  async function smallest(canvas, type, qualities, maxBytes) {
    for (const quality of qualities) {
      const blob = await encode(canvas, type, quality);
      if (blob && blob.type === type && blob.size <= maxBytes) return blob;
    }
    return null;
  }
  async function downsize(bitmap, file, format, maxBytes) {
    const type = format === "JPEG" ? "image/jpeg" : "image/webp";
    const blob = await smallest(drawn(bitmap, LONG_EDGE), type, [0.9, 0.82, 0.72, 0.6, 0.5], maxBytes);
    // The member's own name, whatever the copy's type: the server reads the type from the bytes.
    return blob && new File([blob], file.name, { type });
  }
  async function copyOf(bitmap, edge, maxBytes) {
    const blob = await smallest(drawn(bitmap, Math.min(edge || 512, 512)), "image/webp", [0.9, 0.75, 0.5], maxBytes);
    return blob && new File([blob], "suggestion-copy.webp", { type: blob.type });
  }
  const decoded = (file) => createImageBitmap(file, { imageOrientation: "from-image" }).catch(() => null);

  // The file to send, once redrawn if it must be: null when it is over the cap and cannot be.
  async function prepared(input, form, { file, format, animated }, bitmap) {
    const maxBytes = Number(form.dataset.maxBytes), maxPixels = Number(form.dataset.maxPixels);
    const over = file.size > maxBytes || (bitmap && bitmap.width * bitmap.height > maxPixels);
    if (!over) return file;
    if (!bitmap || animated || !SHRINKABLE.includes(format)) return file.size > maxBytes ? null : file;
    input.dispatchEvent(new Event("upload:preparing", { bubbles: true })); // the bar's first phase
    try {
      const smaller = await downsize(bitmap, file, format, maxBytes);
      if (!smaller || input.files?.[0] !== file) return smaller || (file.size > maxBytes ? null : file);
      const files = new DataTransfer();
      files.items.add(smaller);
      input.files = files.files;
      input.dataset.downsized = "true"; // the change below is ours: the file is not new
      input.dispatchEvent(new Event("change", { bubbles: true }));
      delete input.dataset.downsized;
      return smaller;
    } finally {
      input.dispatchEvent(new Event("upload:prepared", { bubbles: true }));
    }
  }

  document.addEventListener("upload:checked", async (event) => {
    const input = event.target;
    const form = input.closest?.("[data-downsize]");
    if (!form) return;
    const { file, animated } = event.detail; // the form is busy since the file was chosen
    const bitmap = animated ? null : await decoded(file);
    let ready = file;
    try {
      ready = await prepared(input, form, event.detail, bitmap);
      if (input.files?.[0] !== (ready || file)) return; // another file was chosen meanwhile
      if (!ready) {
        input.dispatchEvent(new CustomEvent("upload:message", { bubbles: true, detail: { text: form.dataset.refusalTooLarge } }));
        return;
      }
      const { suggestEdge, suggestMaxBytes } = form.dataset;
      const copy = bitmap && (await copyOf(bitmap, Number(suggestEdge), Number(suggestMaxBytes)));
      input.dispatchEvent(new CustomEvent("upload:ready", { bubbles: true, detail: { file: ready, copy } }));
    } catch (error) {
      console.warn("preparing the picture failed; the server will judge the original", error);
    } finally {
      bitmap?.close();
      if ([file, ready].includes(input.files?.[0])) { // else the file chosen since says when
        form.querySelector("button[type=submit]").disabled = false;
        form.removeAttribute("aria-busy");
      }
    }
  });
})();
