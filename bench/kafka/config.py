"""librdkafka settings from the command line (`-X key=value`, `--config FILE`) and their redaction.

Security settings (SASL, TLS) pass straight through to librdkafka: partbench interprets none of
them. Anything that could be a credential is redacted before it reaches results, logs or reports.
"""

from __future__ import annotations

import argparse
import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bench.errors import UserError

REDACTED = "[redacted]"

# Key names that carry secrets or key material (librdkafka's sasl.password, ssl.key.password,
# ssl.keystore.password, ssl.key.pem, ssl_key, sasl.oauthbearer.client.secret, …).
_SECRET_KEY = re.compile(r"password|secret|token|credential|(^|[._])key([._]|$)|\.pem$|jaas|oauthbearer\.config",
                         re.IGNORECASE)
# Settings whose values are file paths or public identifiers, not secrets, although they match above.
_NOT_SECRET = {"ssl.key.location", "ssl.keystore.location", "ssl.certificate.location",
               "ssl.ca.location", "ssl.crl.location", "sasl.kerberos.keytab"}

# Quiet, fast-failing defaults for this tool; any of them can be overridden with -X.
CLIENT_DEFAULTS: dict[str, str] = {
    "socket.connection.setup.timeout.ms": "5000",
    "reconnect.backoff.max.ms": "1000",
}

# Group settings that make a fresh consumer get its first records in ~1 s instead of ~23 s
# (see docs/kafka.md); clusters with slow rebalances may need larger values.
GROUP_DEFAULTS: dict[str, str] = {
    "session.timeout.ms": "6000",
    "heartbeat.interval.ms": "500",
    "topic.metadata.refresh.interval.ms": "2000",
}


def is_secret(key: str) -> bool:
    return key not in _NOT_SECRET and bool(_SECRET_KEY.search(key))


def redact(config: Mapping[str, Any]) -> dict[str, Any]:
    """A copy safe to write anywhere: secret values replaced, everything else kept."""
    return {k: (REDACTED if is_secret(k) else v) for k, v in config.items()}


def redact_text(text: str, config: Mapping[str, Any]) -> str:
    """Remove every secret value of `config` from a message (librdkafka errors can echo settings)."""
    for key, value in config.items():
        if is_secret(key) and isinstance(value, str) and len(value) >= 3:
            text = text.replace(value, REDACTED)
    return text


def parse_pairs(pairs: Iterable[str], origin: str = "-X") -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"{origin}: expected key=value, got {pair.split('=')[0]!r}…" if sep
                            else f"{origin}: expected key=value, got {pair!r}")
        out[key] = value.strip()
    return out


def load_file(path: str) -> dict[str, str]:
    """A librdkafka properties file: `key=value` lines, `#` comments (the Java client's format)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"file {path}: cannot read ({exc.strerror})") from None
    out: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", "!")):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            # Never echo the line: it may hold a password.
            raise UserError(f"file {path}: line {lineno}: expected key=value")
        out[key.strip()] = value.strip()
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The client-settings options every Kafka command shares."""
    parser.add_argument("-X", dest="kafka_settings", action="append", default=[], metavar="KEY=VALUE",
                        help="librdkafka setting (repeatable), e.g. -X security.protocol=SASL_SSL")
    parser.add_argument("--config", dest="kafka_config_file", metavar="FILE",
                        help="librdkafka properties file (key=value lines); -X settings override it")


def from_args(args: argparse.Namespace) -> dict[str, str]:
    config: dict[str, str] = {}
    if getattr(args, "kafka_config_file", None):
        config.update(load_file(args.kafka_config_file))
    config.update(parse_pairs(getattr(args, "kafka_settings", []) or []))
    return config


class ClientErrors(logging.Handler):
    """Keeps librdkafka's last error or log complaint, so an unreachable broker is one clear line.

    librdkafka's log lines arrive here instead of stderr (a private logger that does not
    propagate), so a failing command prints the one line partbench writes, not a retry stream.
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.reason: str | None = None
        self.logger = logging.Logger("bench.kafka.rdkafka")  # private: not in the global registry
        self.logger.propagate = False
        self.logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.reason = record.getMessage()

    def error_cb(self, err: Any) -> None:
        text = err.str() if hasattr(err, "str") else str(err)
        if "brokers are down" not in text or self.reason is None:
            self.reason = text

    def describe(self, fallback: str) -> str:
        """The most specific reason known, without librdkafka's `[thrd:…]` and `host/id:` prefixes."""
        text = self.reason or fallback
        text = re.sub(r"^\S+ \[rdkafka#[^\]]*\] \[thrd:[^\]]*\]: ", "", text)
        text = re.sub(r"^\S+/(bootstrap|\d+): ", "", text)
        return text


def client_config(bootstrap: str, config: Mapping[str, str], **extra: Any) -> tuple[dict[str, Any], ClientErrors]:
    """Full settings for a confluent-kafka client, plus the error recorder wired into it.

    Precedence: partbench's defaults < `extra` (what the command needs) < the user's settings,
    except `bootstrap.servers`, which is always the address given.
    """
    errors = ClientErrors()
    merged: dict[str, Any] = {**CLIENT_DEFAULTS, **extra, **config, "bootstrap.servers": bootstrap}
    merged["error_cb"] = errors.error_cb
    merged["logger"] = errors.logger
    return merged, errors


def unreachable(bootstrap: str, errors: ClientErrors, exc: BaseException, config: Mapping[str, str]) -> UserError:
    """The one-line error for a broker that did not answer (secrets scrubbed from the reason)."""
    reason = errors.describe(str(getattr(exc.args[0], "str", lambda: exc)()) if exc.args else str(exc))
    return UserError(f"broker {bootstrap}: unreachable ({redact_text(reason, config)})")
