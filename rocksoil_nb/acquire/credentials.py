"""Credentials, only from the environment, ``~/.netrc`` or the Earth Engine credentials file.

Never a notebook parameter, never printed: objects here show ``***`` in their repr, and
:func:`redact` removes any known secret value from text before it reaches a log or an error.
"""

from __future__ import annotations

import netrc
import os
from dataclasses import dataclass, field
from pathlib import Path

EARTHDATA_HOST = "urs.earthdata.nasa.gov"
SECRET_ENV = ("EARTHDATA_PASSWORD", "EARTHDATA_TOKEN", "EARTHDATA_USERNAME", "EE_SERVICE_ACCOUNT_KEY")


class CredentialsError(RuntimeError):
    """No usable credentials were found (the message says where they were looked for)."""


@dataclass(frozen=True)
class Earthdata:
    """Earthdata login: a username/password pair or a ready bearer token. Secrets hidden in repr."""

    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    origin: str = ""  # where they came from: "environment" or "~/.netrc"

    def __repr__(self) -> str:
        kind = "token" if self.token else "username/password"
        return f"Earthdata({kind} from {self.origin}, ***)"

    def secrets(self) -> list[str]:
        return with_encodings([s for s in (self.username, self.password, self.token) if s], self.username, self.password)


def earthdata(env: dict | None = None, netrc_path: str | Path | None = None) -> Earthdata:
    """Earthdata credentials: ``EARTHDATA_TOKEN``, else ``EARTHDATA_USERNAME``/``EARTHDATA_PASSWORD``,
    else the ``urs.earthdata.nasa.gov`` entry of ``~/.netrc`` (or ``$NETRC``)."""
    env = os.environ if env is None else env
    if env.get("EARTHDATA_TOKEN"):
        return Earthdata(token=env["EARTHDATA_TOKEN"], origin="environment (EARTHDATA_TOKEN)")
    user, pw = env.get("EARTHDATA_USERNAME"), env.get("EARTHDATA_PASSWORD")
    if user and pw:
        return Earthdata(username=user, password=pw, origin="environment (EARTHDATA_USERNAME/PASSWORD)")
    path = Path(netrc_path or env.get("NETRC") or Path.home() / ".netrc")
    if path.exists():
        try:
            auth = netrc.netrc(str(path)).authenticators(EARTHDATA_HOST)
        except (netrc.NetrcParseError, OSError) as e:
            raise CredentialsError(f"{path}: cannot be parsed ({type(e).__name__}); fix it or set EARTHDATA_USERNAME/PASSWORD") from None
        if auth and auth[0] and auth[2]:
            return Earthdata(username=auth[0], password=auth[2], origin=str(path))
    raise CredentialsError(
        "no Earthdata credentials: set EARTHDATA_TOKEN, or EARTHDATA_USERNAME and EARTHDATA_PASSWORD, "
        f"or add 'machine {EARTHDATA_HOST} login … password …' to {path}"
    )


def with_encodings(secrets: list[str], user: str | None = None, password: str | None = None) -> list[str]:
    """The secrets and the forms a server or a URL may echo them in: URL-quoted, and the base64 of ``user:password``
    that an HTTP Basic ``Authorization`` header carries."""
    import base64
    from urllib.parse import quote, quote_plus

    out = list(secrets)
    for s in secrets:
        out += [quote(s, safe=""), quote_plus(s)]
    if user and password:
        pair = base64.b64encode(f"{user}:{password}".encode()).decode()
        out += [pair, pair.rstrip("=")]
    return [s for s in dict.fromkeys(out) if s]


def known_secrets(env: dict | None = None) -> list[str]:
    """Secret values currently visible in the environment, in the encodings they travel in (for redaction)."""
    env = os.environ if env is None else env
    plain = [env[k] for k in SECRET_ENV if env.get(k) and len(env[k]) >= 4]
    return with_encodings(plain, env.get("EARTHDATA_USERNAME"), env.get("EARTHDATA_PASSWORD"))


def redact(text: str, secrets: list[str] | None = None) -> str:
    """``text`` with every secret value (default: those in the environment) replaced by ``***``."""
    out = str(text)
    for s in sorted(set(secrets if secrets is not None else known_secrets()), key=len, reverse=True):
        if s:
            out = out.replace(s, "***")
    return out


@dataclass(frozen=True)
class EarthEngineAuth:
    """How to initialise Earth Engine: a cloud project and, optionally, a service-account key file."""

    project: str
    key_file: Path | None = None

    def __repr__(self) -> str:
        return f"EarthEngineAuth(project={self.project!r}, {'service-account key' if self.key_file else 'user credentials file'})"


def earthengine(project: str = "", env: dict | None = None) -> EarthEngineAuth:
    """Earth Engine project from ``EE_PROJECT`` (else ``project`` from the parameters) and credentials from
    ``EE_SERVICE_ACCOUNT_KEY`` / ``GOOGLE_APPLICATION_CREDENTIALS`` (a key file path) or the standard
    credentials file written by ``earthengine authenticate`` (``~/.config/earthengine/credentials``)."""
    env = os.environ if env is None else env
    proj = env.get("EE_PROJECT") or project
    if not proj:
        raise CredentialsError("no Earth Engine project: set EE_PROJECT or 'earthengine.project' in the area parameters")
    key = env.get("EE_SERVICE_ACCOUNT_KEY") or env.get("GOOGLE_APPLICATION_CREDENTIALS")
    if key:
        if not Path(key).exists():
            raise CredentialsError("the service-account key file named by EE_SERVICE_ACCOUNT_KEY / "
                                   "GOOGLE_APPLICATION_CREDENTIALS does not exist")
        return EarthEngineAuth(proj, Path(key))
    cred = Path(env.get("EE_CREDENTIALS_FILE") or Path.home() / ".config" / "earthengine" / "credentials")
    if not cred.exists():
        raise CredentialsError(f"no Earth Engine credentials: run 'earthengine authenticate' (writes {cred}) "
                               "or set EE_SERVICE_ACCOUNT_KEY to a service-account key file")
    return EarthEngineAuth(proj)
