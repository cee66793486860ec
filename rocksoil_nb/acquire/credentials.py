"""Credentials, only from the environment, ``~/.netrc`` or the files the services' own clients read.

Never a notebook parameter, never printed: objects here show ``***`` in their repr, and
:func:`redact` removes any known secret value from text before it reaches a log or an error.

* AppEEARS logs in with the **Earthdata Login username and password** (``POST login``, HTTP Basic) and answers
  with its own bearer token (about 48 h). ``APPEEARS_TOKEN`` may hold such a token to start with; the username and
  password stay beside it for when it expires. ``EARTHDATA_TOKEN`` is, by the convention of earthaccess and GDAL,
  an Earthdata Login *user* token, which AppEEARS does not document accepting: it is not used as one.
* Earth Engine: a service-account key (``EE_SERVICE_ACCOUNT_KEY``, or a ``service_account`` key in
  ``GOOGLE_APPLICATION_CREDENTIALS``), else whatever ``ee.Initialize`` finds itself
  (``~/.config/earthengine/credentials``, application-default credentials).
"""

from __future__ import annotations

import netrc
import os
from dataclasses import dataclass, field
from pathlib import Path

EARTHDATA_HOST = "urs.earthdata.nasa.gov"
SECRET_ENV = ("APPEEARS_TOKEN", "EARTHDATA_PASSWORD", "EARTHDATA_TOKEN", "EARTHDATA_USERNAME", "EE_SERVICE_ACCOUNT_KEY")


class CredentialsError(RuntimeError):
    """No usable credentials were found (the message says where they were looked for)."""


@dataclass(frozen=True)
class Earthdata:
    """AppEEARS login: the Earthdata username/password pair and, optionally, a ready AppEEARS bearer token. Secrets
    hidden in repr."""

    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)  # an AppEEARS bearer token (APPEEARS_TOKEN)
    origin: str = ""  # where they came from, e.g. "environment (EARTHDATA_USERNAME/PASSWORD)" or "~/.netrc"

    def __repr__(self) -> str:
        kinds = [k for k, v in (("AppEEARS token", self.token), ("username/password", self.username)) if v]
        return f"Earthdata({' + '.join(kinds)} from {self.origin}, ***)"

    def secrets(self) -> list[str]:
        return with_encodings([s for s in (self.username, self.password, self.token) if s], self.username, self.password)


def earthdata(env: dict | None = None, netrc_path: str | Path | None = None) -> Earthdata:
    """AppEEARS credentials: ``EARTHDATA_USERNAME``/``EARTHDATA_PASSWORD``, else the ``urs.earthdata.nasa.gov`` entry of
    ``~/.netrc`` (or ``$NETRC``); plus ``APPEEARS_TOKEN`` (an AppEEARS bearer token) when set. A token alone works
    until it expires; then the pair is needed."""
    env = os.environ if env is None else env
    token = env.get("APPEEARS_TOKEN") or None
    user, pw, origin = env.get("EARTHDATA_USERNAME"), env.get("EARTHDATA_PASSWORD"), "environment (EARTHDATA_USERNAME/PASSWORD)"
    path = Path(netrc_path or env.get("NETRC") or Path.home() / ".netrc")
    if not (user and pw) and path.exists():
        try:
            auth = netrc.netrc(str(path)).authenticators(EARTHDATA_HOST)
        except (netrc.NetrcParseError, OSError) as e:
            raise CredentialsError(f"{path}: cannot be parsed ({type(e).__name__}); fix it or set EARTHDATA_USERNAME/PASSWORD") from None
        if auth and auth[0] and auth[2]:
            user, pw, origin = auth[0], auth[2], str(path)
    if not (user and pw):
        user = pw = None
    if token or user:
        where = " + ".join(([origin] if user else []) + (["environment (APPEEARS_TOKEN)"] if token else []))
        return Earthdata(username=user, password=pw, token=token, origin=where)
    if env.get("EARTHDATA_TOKEN"):
        raise CredentialsError(
            "EARTHDATA_TOKEN is set, but it holds an Earthdata Login user token (the earthaccess / GDAL convention), "
            "which AppEEARS does not accept: AppEEARS logs in with the Earthdata username and password. Set "
            f"EARTHDATA_USERNAME and EARTHDATA_PASSWORD, or add 'machine {EARTHDATA_HOST} login … password …' to {path} "
            "(APPEEARS_TOKEN may hold a bearer token from AppEEARS' own login)")
    raise CredentialsError(
        "no Earthdata credentials for AppEEARS: set EARTHDATA_USERNAME and EARTHDATA_PASSWORD, "
        f"or add 'machine {EARTHDATA_HOST} login … password …' to {path} (APPEEARS_TOKEN may add a bearer token)"
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
    """How to initialise Earth Engine: a cloud project ('' = the one the credentials carry) and, optionally, a
    service-account key file; without one, ``ee.Initialize`` finds the user's credentials itself."""

    project: str = ""
    key_file: Path | None = None

    def __repr__(self) -> str:
        how = "service-account key" if self.key_file else "the Earth Engine client's own credentials"
        return f"EarthEngineAuth(project={self.project or '(from the credentials)'!r}, {how})"


def earthengine(project: str = "", env: dict | None = None) -> EarthEngineAuth:
    """Earth Engine project from ``EE_PROJECT`` (else ``project`` from the parameters, else the credentials' own) and,
    when given, a service-account key file: ``EE_SERVICE_ACCOUNT_KEY``, or ``GOOGLE_APPLICATION_CREDENTIALS`` when
    that file is a service-account key. Anything else (``earthengine authenticate``'s credentials file,
    application-default credentials of gcloud, Colab or a cloud VM, an authorized-user file in
    ``GOOGLE_APPLICATION_CREDENTIALS``) is left to ``ee.Initialize``, which finds it as it always does; whether it
    works is known only when Earth Engine is initialised (:func:`rocksoil_nb.acquire.earthengine.initialize`)."""
    import json

    env = os.environ if env is None else env
    proj = env.get("EE_PROJECT") or project or ""
    key = env.get("EE_SERVICE_ACCOUNT_KEY")
    if key:
        if not Path(key).is_file():
            raise CredentialsError("the service-account key file named by EE_SERVICE_ACCOUNT_KEY does not exist")
        return EarthEngineAuth(proj, Path(key))
    adc = env.get("GOOGLE_APPLICATION_CREDENTIALS")
    if adc and Path(adc).is_file():
        try:
            kind = json.loads(Path(adc).read_text()).get("type")
        except (ValueError, OSError, AttributeError):
            kind = None
        if kind == "service_account":
            return EarthEngineAuth(proj, Path(adc))
    return EarthEngineAuth(proj)
