"""Email settings for the platform's notifier, read from ``CAGED_SMTP_*`` by ``serve``."""

from __future__ import annotations

import pytest

from caged_core.errors import CagedConfigError
from caged_platform.observe import SmtpSettings
from caged_platform.platform import smtp_from_env


def test_no_host_means_no_email() -> None:
    assert smtp_from_env({"CAGED_SMTP_FROM": "caged@example.test"}) is None


def test_every_setting_is_read() -> None:
    settings = smtp_from_env(
        {
            "CAGED_SMTP_HOST": "mail.example.test",
            "CAGED_SMTP_PORT": "587",
            "CAGED_SMTP_FROM": "caged@example.test",
            "CAGED_SMTP_USERNAME": "caged",
            "CAGED_SMTP_PASSWORD": "hunter2",
            "CAGED_SMTP_STARTTLS": "true",
        }
    )
    assert settings == SmtpSettings(
        host="mail.example.test",
        port=587,
        sender="caged@example.test",
        username="caged",
        password="hunter2",
        starttls=True,
    )


def test_the_port_defaults_to_25_without_tls() -> None:
    settings = smtp_from_env({"CAGED_SMTP_HOST": "localhost", "CAGED_SMTP_FROM": "a@b.test"})
    assert settings is not None and (settings.port, settings.starttls) == (25, False)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"CAGED_SMTP_HOST": "localhost"}, "CAGED_SMTP_FROM is not"),
        (
            {
                "CAGED_SMTP_HOST": "localhost",
                "CAGED_SMTP_FROM": "a@b.test",
                "CAGED_SMTP_PORT": "smtp",
            },
            "must be a port number",
        ),
        (
            {
                "CAGED_SMTP_HOST": "localhost",
                "CAGED_SMTP_FROM": "a@b.test",
                "CAGED_SMTP_PORT": "70000",
            },
            "must be a port number",
        ),
    ],
)
def test_bad_settings_are_refused_by_name(environ: dict[str, str], message: str) -> None:
    with pytest.raises(CagedConfigError, match=message):
        smtp_from_env(environ)
