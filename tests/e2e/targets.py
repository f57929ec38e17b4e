"""What a finger hits on a page: every target's box, held to WCAG 2.5.8 the strict way.

A target passes when its box is at least 44x44 CSS px. The one exception is WCAG's own: a link
in a sentence (an inline link inside text longer than itself) is sized by the text, and passes
when a 24 px circle on its centre meets no other target (2.5.8's spacing test). A checkbox is
hit through its label, and so is a visually hidden input (the styled file picker).
"""

from __future__ import annotations

from playwright.sync_api import Page

SMALL_TARGETS_JS = """() => {
  const SELECTOR = "a[href], button, input:not([type=hidden]), select, textarea, summary, "
    + "[role=button], [tabindex]:not([tabindex='-1'])";
  const shown = (el) => {
    const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
    return r.width > 1 && r.height > 1 && cs.visibility !== "hidden" && Number(cs.opacity) > 0;
  };
  const hit = (el) => el.matches("input") && el.labels && el.labels.length
    && (el.type === "checkbox" || el.type === "radio" || !shown(el)) ? el.labels[0] : el;
  const inSentence = (el) => {
    if (!el.matches("a") || getComputedStyle(el).display !== "inline") return false;
    const block = el.parentElement.closest("p, li, dd, td, div");
    return !!block && block.textContent.trim().length > el.textContent.trim().length;
  };
  const targets = [];
  for (const el of document.querySelectorAll(SELECTOR)) {
    const box = hit(el);
    if (!shown(box) || targets.some((t) => t.box === box)) continue;
    targets.push({ el, box, r: box.getBoundingClientRect(), inline: inSentence(el) });
  }
  const near = (t, o) => {
    const cx = t.r.left + t.r.width / 2, cy = t.r.top + t.r.height / 2;
    const dx = Math.max(o.r.left - cx, 0, cx - o.r.right);
    const dy = Math.max(o.r.top - cy, 0, cy - o.r.bottom);
    return dx * dx + dy * dy < 144;
  };
  const apart = (t) => !targets.some(
    (o) => o !== t && !o.box.contains(t.box) && !t.box.contains(o.box) && near(t, o));
  const name = (el) => (el.getAttribute("aria-label") || el.textContent || el.name || el.tagName)
    .trim().replace(/\\s+/g, " ").slice(0, 50);
  return targets
    .filter((t) => !(t.r.width >= 43.5 && t.r.height >= 43.5) && !(t.inline && apart(t)))
    .map((t) => `${t.el.tagName.toLowerCase()} "${name(t.el)}" `
      + `${Math.round(t.r.width)}x${Math.round(t.r.height)}`);
}"""


def small_targets(page: Page) -> list[str]:
    """The page's targets that fail the rule above, as `tag "name" WxH`."""
    found: list[str] = page.evaluate(SMALL_TARGETS_JS)
    return found


def target_count(page: Page) -> int:
    count: int = page.locator(
        "a[href]:visible, button:visible, input:not([type=hidden]):visible, select:visible"
    ).count()
    return count
