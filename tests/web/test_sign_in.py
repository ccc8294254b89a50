"""Signing in through tokens in a real browser: the web app gets a user token from the
demo's sign-in and sends it on every call; the dashboard asks for an admin key."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from recomind.storage.api_keys import issue_key
from recomind.storage.engine import write_tx
from tests.api.conftest import Api
from tests.web.conftest import DESKTOP, screenshot
from tests.web.helpers import load_catalogue

pytestmark = pytest.mark.browser

POST_AS = """async ([token, user]) => {
  const r = await fetch('/video_action', {method: 'POST', headers: {
    'content-type': 'application/json', authorization: `Bearer ${token}`},
    body: JSON.stringify({user_id: user, video_id: 'cooking-0', action_type: 'like'})});
  return [r.status, await r.json()];
}"""


def test_sign_in_by_user_id_gets_a_token_the_app_sends(web: Api, page_factory: Any) -> None:
    load_catalogue(web.http, per_tag=3)
    assert web.http.post("/users", json={"user_id": "sam", "name": "Sam"}).status_code == 201
    page = page_factory(web.base_url, admin_key=False)  # no admin key: no user list either
    page.goto("/#/signin")
    page.wait_for_selector("text=needs the admin key")
    page.get_by_label("Your user id").fill("nobody")
    page.get_by_role("button", name="Sign in with this user id").click()
    page.wait_for_selector("text=No user nobody.")
    page.get_by_label("Your user id").fill("sam")
    page.get_by_role("button", name="Sign in with this user id").click()
    page.wait_for_selector(".feed[data-mode='personal'] .slide")
    stored = page.evaluate("JSON.parse(localStorage.getItem('recomind.user'))")
    assert web.settings.token_secret is not None
    claims = jwt.decode(
        stored["token"],
        web.settings.token_secret.get_secret_value(),
        algorithms=["HS256"],
        audience=web.settings.token_audience,
    )
    assert claims["sub"] == "sam"
    # The token acts as its own user only.
    status, _ = page.evaluate(POST_AS, [stored["token"], "sam"])
    assert status == 202
    status, body = page.evaluate(POST_AS, [stored["token"], "someone-else"])
    assert status == 403 and body["field"] == "body.user_id"
    screenshot(page, "signin-by-id")


def test_the_dashboard_asks_for_an_admin_key(web: Api, page_factory: Any) -> None:
    load_catalogue(web.http, per_tag=3)
    with write_tx(web.engine) as conn:
        _, read_key = issue_key(conn, name="read", scopes=["read"])
        _, admin_key = issue_key(conn, name="admin", scopes=["admin"])
    page = page_factory(web.base_url, viewport=DESKTOP, admin_key=False)
    page.goto("/dashboard")
    page.wait_for_selector("text=Paste an admin key to see the dashboard.")
    page.get_by_label("The dashboard needs a key with the admin scope").fill(read_key)
    page.get_by_role("button", name="Use key").click()
    page.wait_for_selector("text=This key may not read the dashboard")
    page.get_by_label("The dashboard needs a key with the admin scope").fill(admin_key)
    page.get_by_role("button", name="Use key").click()
    page.wait_for_selector("#events-chart[data-drawn]")
    assert page.locator("#stat-totals").inner_text().startswith("18 ")
    assert page.locator("form.admin-key").is_hidden()
    assert page.evaluate("sessionStorage.getItem('recomind.adminKey')") == admin_key
    screenshot(page, "dashboard-admin-key")
