// A square crop over a picture ([data-cropper]): drag the box, or focus it and use the arrow keys
// to move it (Shift: further) and + / - to resize it; the slider resizes it too. The box starts
// from the form's cropX, cropY and cropSize fields when they hold a valid crop (the re-crop page:
// the version's saved crop, or the crop it had before a Rotate, turned with the picture), else,
// for a file just chosen, from what POST data-suggest-url answers for the small copy
// static/js/downsize.js makes of it ("upload:ready": the square on the largest face, the one an
// upload without a crop gets), else centred. The suggestion's refusals are said in the form
// (static/js/upload-check.js), "signed out" included. The box writes the fields (and the crop
// the Rotate links, [data-rotate], carry, and says "crop:change" for the edits preview,
// static/js/edits-preview.js) when the member moves or resizes it, and when a
// suggestion places it (found on a copy, so sent as the crop); until then they keep what the
// server put there (empty: the server's own default square), so what the member sees is what
// they get. Without JavaScript the fields are the way in (on the re-crop page with its choice of
// squares, cropChoice); with it they are hidden ([data-crop-fields]), except after the server
// refused what was typed in them, and the choice is "exact": the circle's.
(() => {
  const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
  function setUp(root) {
    const img = root.querySelector("img");
    const box = root.querySelector("[data-crop-box]");
    const slider = root.querySelector("[data-crop-size]");
    const form = root.closest("form");
    const field = (name) => form.querySelector(`[name=${name}]`);
    const typed = form.querySelector("[data-crop-fields]");
    const crop = { x: 0, y: 0, size: 1 };
    const exact = () => {
      const choice = form.querySelector("[name=cropChoice][value=exact]");
      if (choice) choice.checked = true; // the circle's square is exact fractions
    };
    let touched = false; // the fields keep what they hold until the box moves
    function fit() {
      const w = img.naturalWidth, h = img.naturalHeight, short = Math.min(w, h);
      crop.size = clamp(crop.size, 0.2, 1);
      crop.x = clamp(crop.x, 0, 1 - (crop.size * short) / w);
      crop.y = clamp(crop.y, 0, 1 - (crop.size * short) / h);
    }
    function show() {
      const w = img.clientWidth, h = img.clientHeight, side = crop.size * Math.min(w, h);
      Object.assign(box.style, { left: `${crop.x * w}px`, top: `${crop.y * h}px`, width: `${side}px`, height: `${side}px` });
      slider.value = Math.round(crop.size * 100);
      if (!touched) return;
      exact();
      root.dataset.cropFrom = "member";
      const values = { cropX: crop.x.toFixed(4), cropY: crop.y.toFixed(4), cropSize: crop.size.toFixed(4) };
      for (const [name, value] of Object.entries(values)) field(name).value = value;
      for (const link of form.querySelectorAll("a[data-rotate]")) { // the next page turns this crop
        const url = new URL(link.href);
        for (const [name, value] of Object.entries(values)) url.searchParams.set(name, value);
        link.href = url.href;
      }
      root.dispatchEvent(new CustomEvent("crop:change", { bubbles: true }));
    }
    function showControls(shown) {
      box.hidden = !shown;
      slider.closest("label").hidden = !shown;
      root.querySelector("[data-crop-keys]").hidden = !shown;
    }
    function valid(x, y, size) {
      const w = img.naturalWidth, h = img.naturalHeight, short = Math.min(w, h);
      return [x, y, size].every(Number.isFinite) && x >= 0 && y >= 0 && size > 0 && size <= 1
        && x + (size * short) / w <= 1.0001 && y + (size * short) / h <= 1.0001;
    }
    function saved() {
      const values = ["cropX", "cropY", "cropSize"].map((name) => field(name)?.value.trim() ?? "");
      if (values.some((v) => v === "")) return null;
      const [x, y, size] = values.map(Number);
      return valid(x, y, size) ? { x, y, size } : null;
    }
    function suggested() {
      const [x, y, size] = (root.dataset.suggestedCrop || "").split(" ").map(Number);
      return root.dataset.suggestedCrop && valid(x, y, size) ? { x, y, size } : null;
    }
    function start() {
      if (!img.naturalWidth || touched) return;
      const w = img.naturalWidth, h = img.naturalHeight, short = Math.min(w, h);
      Object.assign(crop, saved() || suggested() || { size: 1, x: (1 - short / w) / 2, y: (1 - short / h) / 2 });
      if (typed && !form.querySelector(".field-error")) {
        typed.hidden = true;
        exact();
      }
      showControls(true);
      fit();
      show();
    }
    function change(update) {
      touched = true;
      update();
      fit();
      show();
    }
    const input = form.querySelector("input[type=file]");
    const tell = (name, detail) => input.dispatchEvent(new CustomEvent(name, { bubbles: true, detail }));
    async function suggest(copy, file) {
      const body = new FormData();
      const csrf = form.querySelector("input[name=_csrf_token]");
      if (csrf) body.append(csrf.name, csrf.value);
      body.append("profilePicture", copy);
      try {
        const response = await fetch(root.dataset.suggestUrl, {
          method: "POST", body, credentials: "same-origin", headers: { Accept: "application/json" },
        });
        const answer = await response.json().catch(() => ({}));
        if (input.files?.[0] !== file) return; // chosen again since: the answer is not about it
        if (response.status === 401) return tell("upload:signed-out");
        if (!response.ok) return answer.error && tell("upload:message", { text: answer.error });
        root.dataset.suggestedCrop = `${answer.x} ${answer.y} ${answer.size}`;
        root.dataset.cropFrom = answer.source;
        start();
        // Found on the copy: sent as the crop, so the upload is cut where the box stands even
        // where the whole file would have led the server's own search elsewhere.
        if (!touched) {
          const values = { cropX: crop.x, cropY: crop.y, cropSize: crop.size };
          for (const [name, value] of Object.entries(values)) field(name).value = value.toFixed(4);
        }
      } catch {
        // No suggestion (offline): the centred box stays, and the server applies its own default.
      }
    }
    img.addEventListener("load", start);
    slider.addEventListener("input", () => change(() => {
      const short = Math.min(img.naturalWidth, img.naturalHeight), old = crop.size;
      crop.size = slider.value / 100;
      const grow = ((crop.size - old) * short) / 2;
      crop.x -= grow / img.naturalWidth;
      crop.y -= grow / img.naturalHeight;
    }));
    box.addEventListener("keydown", (e) => {
      const step = e.shiftKey ? 0.1 : 0.01;
      const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
      const resize = { "+": 0.05, "=": 0.05, "-": -0.05, "_": -0.05 }[e.key];
      if (moves[e.key]) {
        e.preventDefault();
        change(() => { crop.x += moves[e.key][0]; crop.y += moves[e.key][1]; });
      } else if (resize) {
        e.preventDefault();
        slider.value = Math.round((crop.size + resize) * 100);
        slider.dispatchEvent(new Event("input"));
      }
    });
    box.addEventListener("pointerdown", (down) => {
      down.preventDefault();
      box.focus();
      box.setPointerCapture(down.pointerId);
      const from = { ...crop, px: down.clientX, py: down.clientY };
      const move = (e) => change(() => {
        crop.x = from.x + (e.clientX - from.px) / img.clientWidth;
        crop.y = from.y + (e.clientY - from.py) / img.clientHeight;
      });
      box.addEventListener("pointermove", move);
      box.addEventListener("pointerup", () => box.removeEventListener("pointermove", move), { once: true });
    });
    if (root.dataset.suggestUrl) {
      form.addEventListener("change", (event) => {
        // A new file (not the downsized copy of the same one): a new crop, shown once it loads.
        if (event.target !== input || input.dataset.downsized === "true") return;
        touched = false;
        for (const name of ["cropX", "cropY", "cropSize"]) field(name).value = "";
        delete root.dataset.suggestedCrop;
        root.dataset.cropFrom = "centre";
        showControls(false);
      });
      form.addEventListener("upload:ready", (event) => {
        if (event.detail.copy) suggest(event.detail.copy, event.detail.file);
      });
    }
    if (img.complete && img.naturalWidth) start();
  }
  const init = (scope) => scope.querySelectorAll("[data-cropper]:not([data-cropper-ready])").forEach((root) => {
    root.dataset.cropperReady = "";
    setUp(root);
  });
  document.addEventListener("DOMContentLoaded", () => init(document));
  document.addEventListener("htmx:after:swap", () => init(document));
})();
