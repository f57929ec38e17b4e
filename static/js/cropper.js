// A square crop over a picture ([data-cropper]): drag the box to move it, use the slider to
// resize it. It writes fractions into the form's cropX, cropY and cropSize fields; without
// JavaScript those fields stay as they are (empty: a centred square).
(() => {
  const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);

  function setUp(root) {
    const img = root.querySelector("img");
    const box = root.querySelector("[data-crop-box]");
    const slider = root.querySelector("[data-crop-size]");
    const field = (name) => root.closest("form").querySelector(`[name=${name}]`);
    const crop = { x: 0, y: 0, size: 1 };

    function fit() {
      const w = img.naturalWidth, h = img.naturalHeight, short = Math.min(w, h);
      crop.x = clamp(crop.x, 0, 1 - (crop.size * short) / w);
      crop.y = clamp(crop.y, 0, 1 - (crop.size * short) / h);
    }
    function show() {
      const w = img.clientWidth, h = img.clientHeight, side = crop.size * Math.min(w, h);
      Object.assign(box.style, { left: `${crop.x * w}px`, top: `${crop.y * h}px`, width: `${side}px`, height: `${side}px` });
      field("cropX").value = crop.x.toFixed(4);
      field("cropY").value = crop.y.toFixed(4);
      field("cropSize").value = crop.size.toFixed(4);
    }
    function centre() {
      const w = img.naturalWidth, h = img.naturalHeight, short = Math.min(w, h);
      crop.size = slider.value / 100;
      crop.x = (1 - (crop.size * short) / w) / 2;
      crop.y = (1 - (crop.size * short) / h) / 2;
      box.hidden = false;
      slider.closest("label").hidden = false;
      show();
    }
    img.addEventListener("load", () => { slider.value = 100; centre(); });
    slider.addEventListener("input", () => {
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
      box.setPointerCapture(down.pointerId);
      const start = { ...crop, px: down.clientX, py: down.clientY };
      const move = (e) => {
        crop.x = start.x + (e.clientX - start.px) / img.clientWidth;
        crop.y = start.y + (e.clientY - start.py) / img.clientHeight;
        fit();
        show();
      };
      box.addEventListener("pointermove", move);
      box.addEventListener("pointerup", () => box.removeEventListener("pointermove", move), { once: true });
    });
    if (img.complete && img.naturalWidth) centre();
  }

  const init = (scope) => scope.querySelectorAll("[data-cropper]:not([data-cropper-ready])").forEach((root) => {
    root.dataset.cropperReady = "";
    setUp(root);
  });
  document.addEventListener("DOMContentLoaded", () => init(document));
  document.addEventListener("htmx:after:swap", () => init(document));
})();
