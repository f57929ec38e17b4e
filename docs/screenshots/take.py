"""The pages a member sees, as PNGs beside this file, on a desktop (1280x900) and a phone
(390x844): /profile with a picture and history, the API reference, the re-crop page without
JavaScript, and the directory. Against a fresh `ppsync serve` of its own, in Debian's Chromium.

    .venv/bin/python docs/screenshots/take.py
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import Browser, sync_playwright

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.e2e.conftest import Server  # noqa: E402
from tests.e2e.pages import signed_in, upload  # noqa: E402

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
HOPPER = HERE.parents[1] / "tests" / "fixtures" / "pillow_hopper.jpg"


def shoot(browser: Browser, server: Server, handle: str, path: str, name: str, js: bool) -> None:
    for form, viewport in VIEWPORTS.items():
        page = signed_in(browser, server, handle, path=path, viewport=viewport,
                         java_script_enabled=js)  # fmt: skip
        page.wait_for_load_state("load")
        shot = Image.open(io.BytesIO(page.screenshot(full_page=True)))
        # 256 colours: a third of the bytes, no visible change on these flat pages.
        shot.quantize(256).save(HERE / f"{name}-{form}.png", optimize=True)
        page.context.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as var, sync_playwright() as p:
        server = Server(Path(var)).start()
        try:
            server.add_member("grace", "Grace Hopper")
            for handle, name in [("ada", "Ada Lovelace"), ("alan", "Alan Turing")]:
                server.add_member(handle, name)
            browser = p.chromium.launch(executable_path="/usr/bin/chromium")
            first = signed_in(browser, server, "grace")
            file = {"name": "grace.jpg", "mimeType": "image/jpeg", "buffer": HOPPER.read_bytes()}
            for _ in range(2):
                upload(first, file)  # type: ignore[arg-type]
                first.get_by_text("uploaded.").first.wait_for()
            first.context.close()
            shoot(browser, server, "grace", "/profile", "profile", js=True)
            shoot(browser, server, "grace", "/schema/reference", "api-reference", js=True)
            shoot(browser, server, "grace", "/profile/picture/2/crop", "crop-nojs", js=False)
            shoot(browser, server, "grace", "/members", "members", js=True)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
