// A square crop over a picture ([data-cropper]): drag the box to move it, use the slider to
// resize it. The box starts where the server suggests: data-suggested-crop ("left top side",
// fractions), or, for a file just chosen, what POST data-suggest-url answers (the square on the
// largest face, the one an upload without a crop gets), else centred. Only when the member
// moves or resizes the box does it write the form's cropX, cropY and cropSize fields: until
// then they keep what the server put there (empty: the server's own default square), so what
// the member sees first is what they get. Without JavaScript the fields stay as they are.
(() => {
  const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);

  function setUp(root) {
    const img = root.querySelector("img");
    const box = root.querySelector("[data-crop-box]");
    const slider = root.querySelector("[data-crop-size]");
    const form = root.closest("form");
    const field = (name) => form.querySelector(`[name=${name}]`);
    const crop = { x: 0, y: 0, size: 1 };
    let touched = false;

    function fit() {
      const w = img.naturalWidth, h = img.naturalHeight, short = Math.min(w, h);
      crop.x = clamp(crop.x, 0, 1 - (crop.size * short) / w);
      crop.y = clamp(crop.y, 0, 1 - (crop.size * short) / h);
    }
    function show() {
      const w = img.clientWidth, h = img.clientHeight, side = crop.size * Math.min(w, h);
      Object.assign(box.style, { left: `${crop.x * w}px`, top: `${crop.y * h}px`, width: `${side}px`, height: `${side}px` });
      box.hidden = false;
      slider.closest("label").hidden = false;
      if (!touched) return;
      root.dataset.cropFrom = "member";
      field("cropX").value = crop.x.toFixed(4);
      field("cropY").value = crop.y.toFixed(4);
      field("cropSize").value = crop.size.toFixed(4);
    }
    function start() {
      if (!img.naturalWidth || touched) return;
      const suggested = (root.dataset.suggestedCrop || "").split(" ").map(Number);
      if (suggested.length === 3 && suggested.every(Number.isFinite)) {
        [crop.x, crop.y, crop.size] = suggested;
      } else {
        const w = img.naturalWidth, h = img.naturalHeight, short = Math.min(w, h);
        crop.size = 1;
        crop.x = (1 - short / w) / 2;
        crop.y = (1 - short / h) / 2;
      }
      slider.value = Math.round(crop.size * 100);
      fit();
      show();
    }
    function touch() {
      touched = true;
    }
    async function suggest(file) {
      const body = new FormData();
      const csrf = form.querySelector("input[name=_csrf_token]");
      if (csrf) body.append(csrf.name, csrf.value);
      body.append("profilePicture", file);
      try {
        const response = await fetch(root.dataset.suggestUrl, { method: "POST", body, credentials: "same-origin" });
        if (!response.ok) return;
        const found = await response.json();
        if (form.querySelector("input[type=file]").files?.[0] !== file) return; // chosen again since
        root.dataset.suggestedCrop = `${found.x} ${found.y} ${found.size}`;
        root.dataset.cropFrom = found.source;
        start();
      } catch {
        // No suggestion: the centred box stays, and the server still applies its own default.
      }
    }

    img.addEventListener("load", start);
    slider.addEventListener("input", () => {
      touch();
      const old = crop.size;
      crop.size = slider.value / 100;
      const short = Math.min(img.naturalWidth, img.naturalHeight), grow = ((crop.size - old) * short) / 2;
      crop.x -= grow / img.naturalWidth;
      crop.y -= grow / img.naturalHeight;
      fit();
      show();
    });
    box.addEventListener("pointerdown", (down) => {
      down.preventDefault();
      touch();
      box.setPointerCapture(down.pointerId);
      const begin = { ...crop, px: down.clientX, py: down.clientY };
      const move = (e) => {
        crop.x = begin.x + (e.clientX - begin.px) / img.clientWidth;
        crop.y = begin.y + (e.clientY - begin.py) / img.clientHeight;
        fit();
        show();
      };
      box.addEventListener("pointermove", move);
      box.addEventListener("pointerup", () => box.removeEventListener("pointermove", move), { once: true });
    });
    if (root.dataset.suggestUrl) {
      form.addEventListener("change", (event) => {
        const file = event.target.files?.[0];
        if (!file) return;
        touched = false;
        for (const name of ["cropX", "cropY", "cropSize"]) field(name).value = "";
        delete root.dataset.suggestedCrop;
        root.dataset.cropFrom = "centre";
        suggest(file);
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
