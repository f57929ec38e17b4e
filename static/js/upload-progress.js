// The upload's one progress bar ([data-upload-progress] forms), in two phases: "Preparing
// picture…" while static/js/downsize.js redraws a big photo (it says so with the
// upload:preparing and upload:prepared events), then "Uploading…" with the bytes sent. htmx 4
// sends with fetch, which reports no upload progress, so these forms send through XMLHttpRequest.
(() => {
  const PHASES = { preparing: "Preparing picture…", uploading: "Uploading…" };

  // The bar with no value is indeterminate; aria-valuetext says what a number alone cannot.
  function show(form, phase, percent) {
    const label = form.querySelector("[data-upload-phase-label]");
    const bar = form.querySelector("[data-upload-indicator] progress");
    if (!label || !bar) return;
    form.dataset.uploadPhase = phase;
    label.textContent = PHASES[phase];
    if (percent === undefined) {
      bar.removeAttribute("value");
      bar.setAttribute("aria-valuetext", PHASES[phase]);
    } else {
      bar.value = percent;
      bar.setAttribute("aria-valuetext", `${PHASES[phase]} ${Math.round(percent)}%`);
    }
  }

  function xhrFetch(form) {
    return (url, init) => new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(init.method || "GET", url);
      for (const [name, value] of Object.entries(init.headers || {})) xhr.setRequestHeader(name, value);
      xhr.responseType = "blob";
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) show(form, "uploading", (100 * e.loaded) / e.total); };
      xhr.onload = () => {
        const headers = new Headers();
        for (const line of xhr.getAllResponseHeaders().trim().split(/\r?\n/)) {
          const at = line.indexOf(":");
          if (at > 0) headers.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
        }
        const empty = [204, 304].includes(xhr.status);
        resolve(new Response(empty ? null : xhr.response, { status: xhr.status, headers }));
      };
      xhr.onerror = () => reject(new TypeError("Network error while uploading"));
      xhr.onabort = () => reject(new DOMException("Upload aborted", "AbortError"));
      init.signal?.addEventListener("abort", () => xhr.abort());
      xhr.send(init.body);
    });
  }

  // The indicator stays hidden without the script (nothing would ever fill it).
  const showIndicators = () => document.querySelectorAll("[data-upload-progress] [data-upload-indicator]").forEach((el) => { el.hidden = false; });
  document.addEventListener("DOMContentLoaded", showIndicators);
  document.addEventListener("htmx:after:swap", showIndicators);
  document.addEventListener("upload:preparing", (event) => {
    const form = event.target.closest?.("[data-upload-progress]");
    if (form) show(form, "preparing");
  });
  document.addEventListener("upload:prepared", (event) => {
    const form = event.target.closest?.("[data-upload-progress]");
    if (form) delete form.dataset.uploadPhase;
  });
  document.addEventListener("htmx:config:request", (event) => {
    const form = event.target.closest?.("[data-upload-progress]");
    if (!form?.querySelector("[data-upload-indicator] progress")) return;
    show(form, "uploading"); // before htmx shows the indicator: never a stale "Preparing"
    event.detail.ctx.fetch = xhrFetch(form);
  });
})();
