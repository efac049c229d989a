"""Browser tests' common first step: a new page, logged in to the web app."""

from typing import Any


def logged_in_page(browser: Any, base_url: str, email: str, password: str, *,
                   height: int = 900, timeout: int = 20_000) -> Any:
    """A page of a new browser context (English, 1280 wide), logged in as `email`."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": height})
    page = context.new_page()
    page.set_default_timeout(timeout)
    page.goto(f"{base_url}/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    return page
