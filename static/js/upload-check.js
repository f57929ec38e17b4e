// What the upload form ([data-upload-check]) says about the chosen file, in its message area
// (#upload-error, where the server's refusals are shown too), always about the file chosen now.
// The moment a file is chosen its first bytes are read (File.slice) and its type told from them
// as the server tells it (web/services/imaging/header.py: JPEG, PNG, GIF, WebP, and HEIC/HEIF or
// AVIF by the brands of their ftyp box); an empty file or any other is refused at once, in the
// server's words (data-refusal-*). A picture goes on as "upload:checked" to static/js/downsize.js
// (its size, and the small copy the crop suggestion is made from). The other scripts say what
// needs saying with "upload:message" (a sentence) and "upload:signed-out". An htmx upload answered
// 401 (the session ended, or the member signed out in another tab) is not followed to the sign-in
// page: the form says so and offers a sign-in in a new tab, and the chosen file and crop stay
// here. The server stays the judge on upload: nothing here stops the form being sent.
(() => {
  const HEAD = 4096; // the magic bytes, an ftyp box, and the marks of an animation
  const SNIFF = 64; // as much of the head as the server reads for the type (SNIFF_BYTES)
  const AVIF = ["avif", "avis"];
  const HEIF = ["heic", "heix", "hevc", "heim", "heis", "hevm", "hevs", "mif1", "msf1"];
  const text = (bytes, from, to) => String.fromCharCode(...bytes.subarray(from, to));

  function brands(head) {
    if (head.length < 16 || text(head, 4, 8) !== "ftyp") return [];
    const size = new DataView(head.buffer, head.byteOffset).getUint32(0);
    const end = Math.min(head.length, Math.max(16, size));
    const found = [text(head, 8, 12)];
    for (let at = 16; at + 4 <= end; at += 4) found.push(text(head, at, at + 4));
    return found;
  }
  function sniff(head) {
    if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return "JPEG";
    if (text(head, 0, 8) === "\x89PNG\r\n\x1a\n") return "PNG";
    if (["GIF87a", "GIF89a"].includes(text(head, 0, 6))) return "GIF";
    if (text(head, 0, 4) === "RIFF" && text(head, 8, 12) === "WEBP") return "WEBP";
    const named = brands(head.subarray(0, SNIFF));
    if (named.some((b) => AVIF.includes(b))) return "AVIF";
    if (named.some((b) => HEIF.includes(b))) return "HEIF";
    return null;
  }
  // An animation keeps the centre on the server: its marks (a GIF's loop block, an APNG's acTL,
  // a WebP's ANIM chunk, an AVIF sequence's brand) are enough to ask no suggestion for it.
  function animated(format, head) {
    const marks = { GIF: "NETSCAPE2.0", PNG: "acTL", WEBP: "ANIM" };
    if (format === "AVIF") return brands(head.subarray(0, SNIFF)).includes("avis");
    return Boolean(marks[format]) && text(head, 0, head.length).includes(marks[format]);
  }

  function describedBy(input, error) {
    const ids = (input.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && id !== "upload-error");
    input.setAttribute("aria-describedby", [...ids, ...(error ? ["upload-error"] : [])].join(" "));
    if (error) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
  // A sentence or a fragment in the form's message area; nothing clears it.
  function say(form, message, focus = false) {
    const input = form.querySelector("input[type=file]");
    let area = form.querySelector("#upload-error");
    if (!message) {
      area?.remove();
      describedBy(input, false);
      return;
    }
    if (!area) {
      area = document.createElement("p");
      Object.assign(area, { id: "upload-error", className: "field-error", tabIndex: -1 });
      area.setAttribute("role", "alert");
      form.querySelector(".upload-actions").before(area);
    }
    area.replaceChildren(message);
    describedBy(input, true);
    if (focus) area.focus();
  }
  function busy(form, on) {
    form.querySelector("button[type=submit]").disabled = on;
    if (on) form.setAttribute("aria-busy", "true");
    else form.removeAttribute("aria-busy");
  }
  function signedOut(form, focus) {
    say(form, form.querySelector("template[data-signed-out]").content.cloneNode(true), focus);
  }

  document.addEventListener("change", async (event) => {
    const input = event.target;
    const form = input.closest?.("[data-upload-check]");
    if (!form || input.type !== "file" || input.dataset.downsized === "true") return;
    const file = input.files?.[0];
    say(form, null); // whatever was said was about the file chosen before
    if (!file) return;
    busy(form, true); // until static/js/downsize.js has it ready, or it is refused here
    const head = new Uint8Array(await file.slice(0, HEAD).arrayBuffer());
    if (input.files?.[0] !== file) return; // another file was chosen meanwhile
    const format = sniff(head);
    const refusal = file.size === 0 ? "refusalEmpty" : format ? null : "refusalUnsupported";
    if (refusal) {
      say(form, form.dataset[refusal]);
      busy(form, false);
      return;
    }
    const detail = { file, format, animated: animated(format, head) };
    input.dispatchEvent(new CustomEvent("upload:checked", { bubbles: true, detail }));
  });
  document.addEventListener("upload:message", (event) => {
    const form = event.target.closest?.("[data-upload-check]");
    if (form) say(form, event.detail.text);
  });
  document.addEventListener("upload:signed-out", (event) => {
    const form = event.target.closest?.("[data-upload-check]");
    if (form) signedOut(form, false);
  });
  document.addEventListener("htmx:before:response", (event) => {
    const ctx = event.detail?.ctx;
    const form = event.target.closest?.("[data-upload-check]");
    if (!form || ctx?.response?.status !== 401) return;
    event.preventDefault(); // not to the sign-in page (HX-Redirect): the file and crop stay
    signedOut(form, true);
  });
})();
