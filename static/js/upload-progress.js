// Upload progress for forms marked data-upload-progress. htmx 4 sends with fetch, which
// reports no upload progress, so for these forms the request goes through XMLHttpRequest.
(() => {
  function xhrFetch(bar) {
    return (url, init) => new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(init.method || "GET", url);
      for (const [name, value] of Object.entries(init.headers || {})) xhr.setRequestHeader(name, value);
      xhr.responseType = "blob";
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = (100 * e.loaded) / e.total; };
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
      bar.removeAttribute("value");
      xhr.send(init.body);
    });
  }

  // The indicator stays hidden without the script (nothing would ever fill it).
  const showIndicators = () => document.querySelectorAll("[data-upload-progress] [data-upload-indicator]").forEach((el) => { el.hidden = false; });
  document.addEventListener("DOMContentLoaded", showIndicators);
  document.addEventListener("htmx:after:swap", showIndicators);
  document.addEventListener("htmx:config:request", (event) => {
    const form = event.target.closest?.("[data-upload-progress]");
    const bar = form?.querySelector("progress");
    if (bar) event.detail.ctx.fetch = xhrFetch(bar);
  });
})();
