"""Settings from XIAOBAO_* environment variables, with working defaults for one machine."""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from backoffice.notifications.config import NotifyConfig
from backoffice.store.fieldseal import FieldKeys
from backoffice.store.sealing import Keyring
from xiaobao.proxies import parse_networks


def _var_dir() -> Path:
    return Path(os.environ.get("XIAOBAO_VAR_DIR", "var")).resolve()


def _generated_secret(name: str, var_dir: Path | None = None,
                      make: Callable[[], str] = lambda: secrets.token_urlsafe(24)) -> str:
    """A per-installation secret kept under var/ (mode 0600), made on first use."""
    path = (var_dir or _var_dir()) / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    # written whole beside it, then linked into place: a process starting at the same moment
    # either makes the link first or reads a complete file, never an empty one
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(value + "\n")
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:  # another process made it first: theirs is the one
            return path.read_text().strip()
    finally:
        os.unlink(tmp)
    return value


#: The demo's master key for uploaded documents, under var/ (`xiaobao up`, or any command with
#: XIAOBAO_FILES_DEMO_KEY=1). DEMO ONLY: it sits beside the files it protects.
DEMO_FILES_KEY = "files-key"
#: The demo's keys of the personal-number columns (fieldseal), under var/, made with the
#: documents' demo key and on the same conditions. DEMO ONLY.
DEMO_FIELDS_KEY = "fields-key"
DEMO_FIELDS_HASH_KEY = "fields-hash-key"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    api_token: str
    rasa_url: str
    log_level: str
    var_dir: Path
    #: Uploaded claim documents (XIAOBAO_FILES_DIR); None means `<var_dir>/files`.
    files_dir: Path | None = None
    #: Where uploaded documents live (XIAOBAO_FILES_URL): empty, the disk (files_dir);
    #: s3://bucket/prefix, an S3-compatible object store, at XIAOBAO_S3_ENDPOINT_URL when that
    #: is not AWS, in XIAOBAO_S3_REGION; credentials the standard AWS way (AWS_* variables).
    files_url: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = ""
    #: Senders (WeChat, SMS), token cache (Redis), retries: XIAOBAO_WECHAT_*, XIAOBAO_SMS_*, …
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    #: How long a staff member's API token lives (XIAOBAO_STAFF_TOKEN_TTL_MINUTES).
    staff_token_ttl: timedelta = timedelta(hours=8)
    #: How long a web chat session lives; renewed when used past half of it
    #: (XIAOBAO_WEB_SESSION_TTL_MINUTES).
    web_session_ttl: timedelta = timedelta(hours=2)
    #: Token of the HTTP API of the Rasa that `xiaobao up` starts (XIAOBAO_RASA_TOKEN, else
    #: generated into var/rasa-token); the REST channel the platform talks to needs none.
    rasa_token: str = ""
    #: Interfaces `xiaobao up` binds Rasa and the action server to (XIAOBAO_RASA_HOST,
    #: XIAOBAO_ACTIONS_HOST).
    rasa_host: str = "127.0.0.1"
    actions_host: str = "127.0.0.1"
    #: The action server the platform probes for /healthz and start-up (XIAOBAO_ACTIONS_URL,
    #: default http://127.0.0.1:5055; empty: not probed).
    actions_url: str = ""
    #: How long a user's message waits for a bot still starting before it is told to send it
    #: again (XIAOBAO_BOT_START_RETRY_SECONDS).
    bot_start_wait: float = 6.0
    #: How long `xiaobao up` / `serve` wait for the bot before saying it did not come up
    #: (XIAOBAO_BOT_START_TIMEOUT).
    bot_start_timeout: float = 300.0
    #: How long a link to a policy's document opens (XIAOBAO_DOCUMENT_LINK_DAYS).
    document_link_lifetime: timedelta = timedelta(days=30)
    #: Reverse proxies whose X-Forwarded-Proto/-For are believed (XIAOBAO_TRUSTED_PROXIES:
    #: addresses or CIDR networks, comma-separated); none by default.
    trusted_proxies: str = ""
    #: This platform process's name on the messages it stores until it answers them
    #: (XIAOBAO_INSTANCE); the same name after a restart answers what a killed process left.
    #: Empty: `xiaobao serve` takes the host name and port.
    instance: str = ""
    #: How long a platform process's lease on the messages it answers lasts, in whole
    #: seconds (XIAOBAO_INSTANCE_LEASE_SECONDS), and how often it is renewed and the other
    #: processes' leases are checked (XIAOBAO_TAKEOVER_INTERVAL_SECONDS): a dead process's
    #: pending messages are taken over between lease − interval and lease + interval after
    #: its death.
    instance_lease: int = 20
    takeover_interval: float = 5.0
    #: Several Rasa instances (XIAOBAO_RASA_URLS, comma-separated): the gateway sends each
    #: sender to one of them by a consistent hash (channels.rasa_pool). Empty: `rasa_url`.
    rasa_urls: tuple[str, ...] = ()
    #: Each instance's own action server, in the same order (XIAOBAO_ACTIONS_URLS): probed
    #: with its Rasa before the pair takes turns again, and reported by /healthz.
    actions_urls: tuple[str, ...] = ()
    #: Master keys of the uploaded documents' envelope encryption (XIAOBAO_FILES_KEYS:
    #: `kid:base64(32 bytes)`, comma-separated, the first seals new files). None: not set.
    files_keys: Keyring | None = None
    #: XIAOBAO_FILES_DEMO_KEY=1: without files_keys, `serve` and `files …` use the demo key
    #: generated into var/files-key instead of refusing to start (development, tests).
    files_demo_key: bool = False
    #: The data-protection contact closing the privacy notice (XIAOBAO_PRIVACY_CONTACT), and
    #: the notice's text file (XIAOBAO_PRIVACY_NOTICE_FILE; None: the packaged Chinese text).
    privacy_contact: str = ""
    privacy_notice_file: Path | None = None
    #: Keys of the ID, phone and bank card numbers in the database (XIAOBAO_FIELDS_KEYS:
    #: `kid:base64(32 bytes)`, comma-separated, the first seals new values; and
    #: XIAOBAO_FIELDS_HASH_KEY: base64 of 32 bytes, the lookup hashes). None: not set.
    fields_keys: FieldKeys | None = None

    def __post_init__(self) -> None:
        if self.files_dir is None:
            object.__setattr__(self, "files_dir", self.var_dir / "files")

    @property
    def files_root(self) -> Path:
        """`files_dir`, typed: always set after construction."""
        return self.files_dir or self.var_dir / "files"

    @property
    def rasa_instances(self) -> tuple[str, ...]:
        """The Rasa instances the gateway talks to: XIAOBAO_RASA_URLS, else the one URL."""
        return self.rasa_urls or (self.rasa_url,)

    @classmethod
    def from_env(cls) -> Settings:
        var_dir = _var_dir()
        return cls(
            database_url=os.environ.get("XIAOBAO_DATABASE_URL")
            or f"sqlite:///{var_dir / 'xiaobao.db'}",
            api_token=os.environ.get("XIAOBAO_API_TOKEN") or _generated_secret("api-token"),
            rasa_url=os.environ.get("XIAOBAO_RASA_URL", "http://127.0.0.1:5005"),
            log_level=os.environ.get("XIAOBAO_LOG_LEVEL", "INFO").upper(),
            var_dir=var_dir,
            files_dir=Path(os.environ["XIAOBAO_FILES_DIR"]).resolve()
            if os.environ.get("XIAOBAO_FILES_DIR") else None,
            files_url=_files_url("XIAOBAO_FILES_URL"),
            s3_endpoint_url=_http_url("XIAOBAO_S3_ENDPOINT_URL"),
            s3_region=os.environ.get("XIAOBAO_S3_REGION", "").strip(),
            notify=NotifyConfig.from_env(),
            staff_token_ttl=_minutes("XIAOBAO_STAFF_TOKEN_TTL_MINUTES", 480),
            web_session_ttl=_minutes("XIAOBAO_WEB_SESSION_TTL_MINUTES", 120),
            document_link_lifetime=_days("XIAOBAO_DOCUMENT_LINK_DAYS", 30),
            instance=os.environ.get("XIAOBAO_INSTANCE", "").strip()[:100],
            **_lease("XIAOBAO_INSTANCE_LEASE_SECONDS", "XIAOBAO_TAKEOVER_INTERVAL_SECONDS"),
            rasa_token=os.environ.get("XIAOBAO_RASA_TOKEN") or _generated_secret("rasa-token"),
            rasa_host=os.environ.get("XIAOBAO_RASA_HOST") or "127.0.0.1",
            actions_host=os.environ.get("XIAOBAO_ACTIONS_HOST") or "127.0.0.1",
            actions_url=os.environ.get("XIAOBAO_ACTIONS_URL", "http://127.0.0.1:5055").strip(),
            bot_start_wait=_seconds("XIAOBAO_BOT_START_RETRY_SECONDS", 6, 120),
            bot_start_timeout=_seconds("XIAOBAO_BOT_START_TIMEOUT", 300, 3600),
            trusted_proxies=_networks("XIAOBAO_TRUSTED_PROXIES"),
            rasa_urls=_urls("XIAOBAO_RASA_URLS"),
            actions_urls=_paired_urls("XIAOBAO_ACTIONS_URLS", "XIAOBAO_RASA_URLS"),
            files_keys=_keyring("XIAOBAO_FILES_KEYS"),
            files_demo_key=_flag("XIAOBAO_FILES_DEMO_KEY"),
            fields_keys=_field_keys(),
            privacy_contact=os.environ.get("XIAOBAO_PRIVACY_CONTACT", "").strip()[:500],
            privacy_notice_file=Path(os.environ["XIAOBAO_PRIVACY_NOTICE_FILE"]).resolve()
            if os.environ.get("XIAOBAO_PRIVACY_NOTICE_FILE", "").strip() else None,
        )

    def files_keyring(self, *, demo: bool = False) -> Keyring | None:
        """The documents' master keys: XIAOBAO_FILES_KEYS; else, for the demo (`demo`, or
        XIAOBAO_FILES_DEMO_KEY=1), the key generated into var/files-key; else None."""
        if self.files_keys is not None:
            return self.files_keys
        if not (demo or self.files_demo_key):
            return None
        entry = _generated_secret(DEMO_FILES_KEY, self.var_dir,
                                  lambda: Keyring.new_entry("demo"))
        try:
            return Keyring.parse(entry)
        except ValueError as exc:
            raise SystemExit(f"{self.var_dir / DEMO_FILES_KEY}: {exc}") from None


    def field_keys(self, *, demo: bool = False) -> FieldKeys | None:
        """The column keys: XIAOBAO_FIELDS_KEYS + XIAOBAO_FIELDS_HASH_KEY; else, for the demo
        (`demo`, or XIAOBAO_FILES_DEMO_KEY=1), keys generated into var/; else None."""
        if self.fields_keys is not None:
            return self.fields_keys
        if not (demo or self.files_demo_key):
            return None
        entry = _generated_secret(DEMO_FIELDS_KEY, self.var_dir,
                                  lambda: Keyring.new_entry("demo"))
        hash_key = _generated_secret(DEMO_FIELDS_HASH_KEY, self.var_dir,
                                     FieldKeys.new_hash_key)
        try:
            return FieldKeys.parse(entry, hash_key)
        except ValueError as exc:
            raise SystemExit(f"{self.var_dir}/{DEMO_FIELDS_KEY}: {exc}") from None


def _field_keys() -> FieldKeys | None:
    keys = os.environ.get("XIAOBAO_FIELDS_KEYS", "").strip()
    hash_key = os.environ.get("XIAOBAO_FIELDS_HASH_KEY", "").strip()
    if not keys and not hash_key:
        return None
    if not keys or not hash_key:
        raise SystemExit("XIAOBAO_FIELDS_KEYS and XIAOBAO_FIELDS_HASH_KEY are set together")
    try:
        return FieldKeys.parse(keys, hash_key)
    except ValueError as exc:  # the message never quotes key material
        raise SystemExit(str(exc)) from None


def _minutes(name: str, default: int) -> timedelta:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return timedelta(minutes=default)
    if not raw.isdigit() or not 1 <= int(raw) <= 60 * 24 * 30:
        raise SystemExit(f"{name} must be a whole number of minutes from 1 to 43200")
    return timedelta(minutes=int(raw))


def _seconds(name: str, default: float, most: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= most:  # also refuses nan and inf
        raise SystemExit(f"{name} must be a number of seconds from 0 to {most:g}")
    return value


def _lease(lease_name: str, interval_name: str) -> dict[str, Any]:
    """The instance lease (whole seconds, 3–3600) and its renewal interval (0.1–600 s),
    which must be less than a third of the lease."""
    raw = os.environ.get(lease_name, "").strip() or "20"
    if not raw.isdigit() or not 3 <= int(raw) <= 3600:
        raise SystemExit(f"{lease_name} must be a whole number of seconds from 3 to 3600")
    lease = int(raw)
    interval = _seconds(interval_name, min(5.0, lease / 4), 600)
    if not 0.1 <= interval <= lease / 3:
        raise SystemExit(f"{interval_name} must be from 0.1 s to a third of "
                         f"{lease_name} ({lease / 3:g} s)")
    return {"instance_lease": lease, "takeover_interval": interval}


def _days(name: str, default: int) -> timedelta:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return timedelta(days=default)
    if not raw.isdigit() or not 1 <= int(raw) <= 366:
        raise SystemExit(f"{name} must be a whole number of days from 1 to 366")
    return timedelta(days=int(raw))


def _keyring(name: str) -> Keyring | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return Keyring.parse(raw)
    except ValueError as exc:  # the message never quotes key material
        raise SystemExit(f"{name}: {exc}") from None


def _flag(name: str) -> bool:
    raw = os.environ.get(name, "").strip()
    if raw not in ("", "0", "1"):
        raise SystemExit(f"{name} must be 1 or 0")
    return raw == "1"


def _files_url(name: str) -> str:
    raw = os.environ.get(name, "").strip()
    if raw:
        from backoffice.store.s3files import parse_url

        try:
            parse_url(raw)
        except ValueError as exc:
            raise SystemExit(f"{name}: {exc}") from None
    return raw


def _http_url(name: str) -> str:
    raw = os.environ.get(name, "").strip()
    if raw and not re.fullmatch(r"https?://[^\s/?#]+/?", raw):
        raise SystemExit(f"{name} must be http(s)://host[:port], e.g. http://minio:9000")
    return raw


def _networks(name: str) -> str:
    raw = os.environ.get(name, "").strip()
    try:
        parse_networks(raw)
    except ValueError as exc:
        raise SystemExit(f"{name}: {exc} (addresses or CIDR networks, comma-separated)"
                         ) from None
    return raw


def _urls(name: str) -> tuple[str, ...]:
    """Comma-separated http(s) URLs, each once; empty: none."""
    from urllib.parse import urlsplit

    urls = tuple(u.strip().rstrip("/") for u in os.environ.get(name, "").split(",")
                 if u.strip())
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SystemExit(f"{name}: {url!r} is not an http(s) URL (comma-separated URLs)")
    if len(set(urls)) != len(urls):
        raise SystemExit(f"{name}: each URL once")
    return urls


def _paired_urls(name: str, pairs: str) -> tuple[str, ...]:
    urls = _urls(name)
    if urls and len(urls) != len(_urls(pairs)):
        raise SystemExit(f"{name}: one URL per URL of {pairs}, in the same order")
    return urls
