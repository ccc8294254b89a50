"""The Content-Security-Policy is on for the web app and its violations fail browser tests.

Every other browser test runs the app under the policy (``page_factory`` fails a test on any
"Refused to ..." console message); this one shows that a violation is in fact reported."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.web.conftest import PHONE, csp_violation


def test_inline_script_and_foreign_images_are_refused_and_reported(browser: Any, web: Api) -> None:
    ctx = browser.new_context(viewport=PHONE, base_url=web.base_url)
    try:
        page = ctx.new_page()
        seen: list[str] = []
        page.on("console", lambda msg: csp_violation(msg.text, seen))
        page.goto("/")
        page.wait_for_selector("main")
        csp = page.evaluate("() => fetch('/').then(r => r.headers.get('content-security-policy'))")
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        page.evaluate(
            """() => {
                const s = document.createElement('script');
                s.textContent = 'window.injected = true';
                document.body.append(s);
                const img = document.createElement('img');
                img.src = 'https://images.example/x.png';
                document.body.append(img);
            }"""
        )
        page.wait_for_timeout(300)
        assert page.evaluate("() => window.injected === undefined")  # the script never ran
        assert any("inline script" in s for s in seen), seen
        assert any("images.example" in s for s in seen), seen
    finally:
        ctx.close()
