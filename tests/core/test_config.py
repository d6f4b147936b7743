"""The dashboard's hardened Streamlit configuration (.streamlit/config.toml)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".streamlit" / "config.toml"
MAX_UPLOAD_MB = 200

# The settings a production deployment relies on, as Streamlit option names and values.
HARDENED = {
    "server.enableXsrfProtection": True,  # forms and uploads need the XSRF token
    "client.showErrorDetails": "none",  # never a traceback in the browser
    "client.toolbarMode": "minimal",  # no developer options in the menu
    "browser.gatherUsageStats": False,  # no telemetry
    "server.fileWatcherType": "none",  # production: no reloading from disk
    "server.headless": True,
}


@pytest.fixture(scope="module")
def config() -> dict:
    with CONFIG.open("rb") as fh:
        return tomllib.load(fh)


def _get(config: dict, key: str) -> object:
    section, name = key.split(".")
    return config.get(section, {}).get(name)


@pytest.mark.parametrize(("key", "value"), HARDENED.items())
def test_config_file_sets_the_hardened_value(config: dict, key: str, value: object) -> None:
    assert _get(config, key) == value and type(_get(config, key)) is type(value)


def test_upload_size_is_bounded(config: dict) -> None:
    size = _get(config, "server.maxUploadSize")
    assert isinstance(size, int) and not isinstance(size, bool)
    assert 1 <= size <= MAX_UPLOAD_MB


def test_nothing_weakens_the_defaults(config: dict) -> None:
    # XSRF protection needs CORS protection on; static serving and dev mode stay off.
    assert _get(config, "server.enableCORS") in (None, True)
    assert _get(config, "server.enableStaticServing") in (None, False)
    assert _get(config, "global.developmentMode") in (None, False)
    assert _get(config, "server.runOnSave") in (None, False)
    # Sign-in (st.login) secrets belong in secrets.toml, never in the committed config.
    assert "auth" not in config
    text = CONFIG.read_text(encoding="utf-8").lower()
    assert "client_secret" not in text and "cookie_secret" not in text


def test_streamlit_reads_the_file_with_these_values() -> None:
    """Streamlit itself parses the file: a misspelt key would silently keep the default."""
    keys = [*HARDENED, "server.maxUploadSize"]
    code = (
        "import json, streamlit.config as c\n"
        "c.get_config_options(force_reparse=True)\n"
        f"keys = {keys!r}\n"
        "print(json.dumps({k: [c.get_option(k), c.get_where_defined(k)] for k in keys}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    env["HOME"] = str(ROOT / ".streamlit" / "no-such-home")  # ignore ~/.streamlit/config.toml
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    for key, value in HARDENED.items():
        assert seen[key] == [value, str(CONFIG)], key
    assert seen["server.maxUploadSize"][0] == _get(
        tomllib.loads(CONFIG.read_text()), "server.maxUploadSize"
    )


def test_every_key_is_a_known_streamlit_option(config: dict) -> None:
    from streamlit import config as st_config

    known = set(st_config.get_config_options())
    keys = {f"{section}.{name}" for section, table in config.items() for name in table}
    assert sorted(keys - known) == []


def test_local_secrets_are_never_committed() -> None:
    """secrets.toml (OIDC client secret, cookie secret) must be git-ignored."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(
        ["git", "check-ignore", "-q", ".streamlit/secrets.toml"], cwd=ROOT, capture_output=True
    )
    assert out.returncode == 0, "add .streamlit/secrets.toml to .gitignore"
