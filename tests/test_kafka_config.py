"""Kafka settings, redaction, pacing and the rate controller: no broker needed."""

from __future__ import annotations

import pytest

from bench.errors import UserError
from bench.kafka.config import REDACTED, client_config, from_args, is_secret, parse_pairs, redact, redact_text
from bench.kafka.maxrate import RateController
from bench.kafka.pacer import TokenBucket
from bench.kafka.results_file import redacted_command


@pytest.mark.parametrize("key", ["sasl.password", "ssl.key.password", "ssl.keystore.password", "ssl.key.pem",
                                 "sasl.oauthbearer.client.secret", "sasl.oauthbearer.config", "api_token",
                                 "sasl.jaas.config", "ssl_key"])
def test_secret_keys_are_redacted(key: str) -> None:
    assert is_secret(key)
    assert redact({key: "hunter2", "security.protocol": "SASL_SSL"}) == {key: REDACTED,
                                                                        "security.protocol": "SASL_SSL"}


@pytest.mark.parametrize("key", ["bootstrap.servers", "security.protocol", "sasl.mechanism", "sasl.username",
                                 "ssl.key.location", "ssl.ca.location", "session.timeout.ms"])
def test_ordinary_keys_are_kept(key: str) -> None:
    assert not is_secret(key)


def test_redact_text_scrubs_secret_values() -> None:
    text = redact_text("auth failed for password hunter2 on broker", {"sasl.password": "hunter2"})
    assert "hunter2" not in text and REDACTED in text


def test_pairs_and_file_and_precedence(tmp_path) -> None:
    props = tmp_path / "client.properties"
    props.write_text("# comment\nsecurity.protocol=SASL_SSL\nsasl.password = from-file\n\n")

    class Args:
        kafka_config_file = str(props)
        kafka_settings = ["sasl.password=from-flag", "linger.ms=7"]

    assert from_args(Args()) == {"security.protocol": "SASL_SSL", "sasl.password": "from-flag", "linger.ms": "7"}
    with pytest.raises(UserError, match="expected key=value"):
        parse_pairs(["novalue"])


def test_bad_config_file_line_does_not_echo_it(tmp_path) -> None:
    props = tmp_path / "bad.properties"
    props.write_text("sasl.password hunter2\n")

    class Args:
        kafka_config_file = str(props)
        kafka_settings: list[str] = []

    with pytest.raises(UserError) as info:
        from_args(Args())
    assert "line 1" in str(info.value) and "hunter2" not in str(info.value)


def test_user_settings_override_defaults_but_not_bootstrap() -> None:
    settings, _ = client_config("h:1", {"socket.connection.setup.timeout.ms": "9", "bootstrap.servers": "x:2"},
                                **{"linger.ms": 5})
    assert settings["socket.connection.setup.timeout.ms"] == "9"
    assert settings["bootstrap.servers"] == "h:1" and settings["linger.ms"] == 5


def test_command_line_is_redacted() -> None:
    cmd = redacted_command(["kafka", "run", "-X", "sasl.password=hunter2", "-Xssl.key.password=pw",
                            "-X", "sasl.username=alice"])
    assert "hunter2" not in cmd and "=pw" not in cmd and "sasl.username=alice" in cmd


def test_token_bucket_paces_to_the_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(100.0, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    for _ in range(501):
        bucket.acquire()
    # 501 tokens at 100/s: the first is free, the other 500 need 5 s (no long-run burst credit).
    assert now[0] == pytest.approx(5.0, rel=0.01)


def test_rate_controller_ramps_then_bisects() -> None:
    capacity = 3000.0
    controller = RateController(500, ramp=2.0, precision=0.05, max_steps=30)
    rate: float | None = controller.rate
    tried = []
    while rate is not None:
        tried.append(rate)
        rate = controller.record(rate, rate <= capacity)
    assert tried[:4] == [500, 1000, 2000, 4000]
    assert controller.best is not None and controller.failed is not None
    assert controller.best <= capacity < controller.failed
    assert (controller.failed - controller.best) / controller.best <= 0.05


def test_rate_controller_backs_off_when_even_the_start_fails() -> None:
    controller = RateController(1000, ramp=2.0, min_rate=100)
    assert controller.record(1000, False) == 500
    assert controller.record(500, True) == 750
