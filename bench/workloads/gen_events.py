"""Event bodies: the `properties` (and top-level `$set`/`$set_once`) an SDK sends for each event type.

Shapes follow posthog-js / posthog-python / posthog-node as summarised in the project's reference
notes; every value is invented from the seeded Random.
"""

from __future__ import annotations

import random
from typing import Any

from bench.workloads import gen_data as D
from bench.workloads.gen_common import BASE62, date_like, insert_id, uuid4, uuid7
from bench.workloads.gen_population import DAY_MS, Actor

SESSION_MS = 1_800_000

# A fixed corpus (built once from a fixed seed): texts are random slices of it, which is fast.
_CORPUS_RNG = random.Random(20261120)
_CORPUS = [_CORPUS_RNG.choice(D.WORDS) for _ in range(300_000)]
_SOURCE_LINES = tuple(" ".join(_CORPUS_RNG.choices(D.WORDS, k=_CORPUS_RNG.randrange(3, 12))) for _ in range(500))


def _text(rng: random.Random, words: int) -> str:
    words = min(max(1, words), len(_CORPUS) - 1)
    start = rng.randrange(len(_CORPUS) - words)
    return " ".join(_CORPUS[start: start + words])


# Names of app "super properties" (posthog.register) and custom event properties, with value kinds.
SUPER_PROPS = (
    ("app_version", "ver"), ("environment", "env"), ("workspace_id", "int"), ("plan", "plan"),
    ("is_paying", "bool"), ("org_size", "int"), ("theme", "theme"), ("locale", "locale"),
    ("experiment_group", "variant"), ("build_sha", "hex"), ("region", "region"), ("seat_count", "int"),
    ("signup_date", "date"), ("last_login_at", "date"), ("feature_tier", "plan"), ("account_age_days", "int"),
    ("has_sso", "boolstr"), ("referral_code", "code"), ("ab_bucket", "int"), ("trial_ends_at", "date"),
    ("cohort_week", "date"), ("customer_tier", "plan"), ("mrr", "float"), ("beta_user", "bool"),
    ("team_name", "company"),
)
CUSTOM_PROPS = (
    ("amount", "float"), ("currency", "currency"), ("item_count", "int"), ("product_id", "code"),
    ("category", "category"), ("duration_ms", "int"), ("success", "bool"), ("source", "source"),
    ("query", "query"), ("results", "int"), ("step", "int"), ("variant", "variant"), ("tags", "list"),
    ("metadata", "object"), ("created_at", "date"), ("updated_at", "date"), ("completed", "boolstr"),
    ("rating", "int"), ("comment", "text"), ("price", "numstr"), ("sku", "code"), ("coupon", "code"),
    ("error_code", "nullable"), ("retries", "int"), ("file_size_bytes", "int"), ("file_type", "filetype"),
    ("dashboard_id", "int"), ("insight_type", "insight"), ("timestamp_local", "date"), ("score", "float"),
    ("position", "int"), ("page_number", "int"), ("list_name", "category"), ("is_first_time", "bool"),
    ("utm_content", "campaign"), ("order_total", "float"), ("shipping_method", "source"),
    ("payment_provider", "source"), ("seen_at", "date"), ("label", "text"), ("model", "code"),
)


def value_of(rng: random.Random, kind: str, ms: int) -> Any:
    """A property value of the given kind (strings, numbers, bools, dates in several formats…)."""
    if kind == "int":
        return int(rng.expovariate(1 / 400))
    if kind == "float":
        return round(rng.expovariate(1 / 80), 2)
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "boolstr":
        return rng.choice(("true", "false", "TRUE", "False"))
    if kind == "numstr":
        return f"{rng.randrange(1, 500)}.{rng.randrange(100):02d}"
    if kind == "date":
        return date_like(rng, ms - rng.randrange(0, 400 * DAY_MS))
    if kind in ("plan", "variant"):
        return rng.choice(D.PLANS if kind == "plan" else ("control", "test", "variant-a", "variant-b"))
    if kind == "ver":
        return f"{rng.randrange(1, 9)}.{rng.randrange(0, 30)}.{rng.randrange(0, 12)}"
    if kind == "env":
        return rng.choice(("production", "production", "staging"))
    if kind == "theme":
        return rng.choice(("light", "dark", "system"))
    if kind == "locale":
        return rng.choice(D.TIMEZONES)[2]
    if kind == "hex":
        return f"{rng.getrandbits(160):040x}"
    if kind == "region":
        return rng.choice(("us-east-1", "eu-central-1", "ap-south-1"))
    if kind == "code":
        return "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", k=rng.randrange(6, 14)))
    if kind == "company":
        return rng.choice(D.COMPANIES).title()
    if kind == "currency":
        return rng.choice(("USD", "EUR", "GBP", "BRL", "JPY"))
    if kind == "category":
        return rng.choice(("shoes", "books", "electronics", "garden", "toys", "music", "outdoor"))
    if kind == "source":
        return rng.choice(("web", "ios", "android", "api", "stripe", "paypal", "express", "standard"))
    if kind == "query":
        return rng.choice(D.SEARCH_TERMS)
    if kind == "list":
        return rng.sample(("new", "sale", "featured", "beta", "internal", "vip"), rng.randrange(0, 4))
    if kind == "object":
        return {"origin": rng.choice(("menu", "shortcut", "button")), "depth": rng.randrange(1, 5),
                "flags": {"compact": rng.random() < 0.5}}
    if kind == "text":
        return _text(rng, rng.randrange(2, 25))
    if kind == "nullable":
        return None if rng.random() < 0.7 else rng.choice(("E_TIMEOUT", "E_DECLINED", 402))
    if kind == "filetype":
        return rng.choice(("csv", "pdf", "png", "xlsx", "json"))
    if kind == "insight":
        return rng.choice(("TRENDS", "FUNNELS", "RETENTION", "PATHS", "LIFECYCLE", "SQL"))
    if kind == "campaign":
        return rng.choice(D.UTM_CAMPAIGNS)
    raise ValueError(kind)


_VALUE_POOL = tuple(value_of(_CORPUS_RNG, _CORPUS_RNG.choice(("int", "text", "bool", "date", "code", "float", "boolstr")),
                             1_795_132_800_000) for _ in range(5000))


def super_properties(rng: random.Random, ms: int) -> dict[str, Any]:
    """What an app registers once per device (posthog.register): 0–25 extra keys on every event."""
    n = min(len(SUPER_PROPS), int(rng.expovariate(1 / 8)))
    return {name: value_of(rng, kind, ms) for name, kind in rng.sample(SUPER_PROPS, n)}


def custom_properties(rng: random.Random, ms: int, lo: int, hi: int) -> dict[str, Any]:
    n = rng.randrange(lo, hi + 1)
    picks = rng.sample(CUSTOM_PROPS, min(n, len(CUSTOM_PROPS)))
    props = {name: value_of(rng, kind, ms) for name, kind in picks}
    extra = n - len(picks)
    if extra > 0:  # beyond the named pool: app-specific keys, values drawn from a fixed value pool
        at = rng.randrange(len(_VALUE_POOL) - extra)
        for i in range(extra):
            props[f"custom_field_{i}"] = _VALUE_POOL[at + i]
    return props


def new_session(rng: random.Random, actor: Actor, ms: int) -> None:
    actor.session_id = uuid7(rng, ms)
    actor.window_id = uuid7(rng, ms)
    host = actor.spec.host
    entry_path = rng.choice(D.PATHS)
    referrer, referring_domain, _ = rng.choices(D.REFERRERS, weights=[r[2] for r in D.REFERRERS])[0]
    query = ""
    props: dict[str, Any] = {}
    if rng.random() < 0.3:  # campaign traffic: UTM parameters on the URL and as properties
        utm = {"utm_source": rng.choice(D.UTM_SOURCES), "utm_medium": rng.choice(D.UTM_MEDIUMS),
               "utm_campaign": rng.choice(D.UTM_CAMPAIGNS)}
        if rng.random() < 0.4:
            utm["utm_term"] = rng.choice(D.SEARCH_TERMS)
        if rng.random() < 0.2:
            utm["gclid"] = "Cj0KCQ" + "".join(rng.choices(BASE62, k=40))
        query = "?" + "&".join(f"{k}={v.replace(' ', '+')}" for k, v in utm.items())
        props.update(utm)
        props.update({f"$session_entry_{k}": v for k, v in utm.items()})
    if referring_domain.startswith("www.google"):
        props["$search_engine"] = "google"
    entry_url = f"https://{host}{entry_path}{query}"
    props.update({
        "$referrer": referrer, "$referring_domain": referring_domain,
        "$session_entry_url": entry_url, "$session_entry_host": host, "$session_entry_pathname": entry_path,
        "$session_entry_referrer": referrer, "$session_entry_referring_domain": referring_domain,
    })
    actor.session_props = props
    actor.path = entry_path
    actor.prev_path = None
    actor.pageview_id = None


def browser_properties(rng: random.Random, actor: Actor, ms: int, process_person: bool) -> dict[str, Any]:
    """posthog-js default properties for one event at client time `ms`."""
    if not actor.session_id or ms - actor.last_ms > SESSION_MS:
        new_session(rng, actor, ms)
    actor.last_ms = ms
    props = dict(actor.device)
    host = actor.spec.host
    props["$current_url"] = f"https://{host}{actor.path}"
    props["$host"] = host
    props["$pathname"] = actor.path
    props.update(actor.session_props)
    props["$insert_id"] = insert_id(rng)
    props["$time"] = round(ms / 1000, 3)
    props["distinct_id"] = actor.current_id
    props["$device_id"] = actor.anon_id
    props["$session_id"] = actor.session_id
    props["$window_id"] = actor.window_id
    if actor.pageview_id:
        props["$pageview_id"] = actor.pageview_id
    props["$is_identified"] = actor.identified
    props["$process_person_profile"] = process_person
    if actor.identified:
        props["$user_id"] = actor.current_id
    props["$lib_rate_limit_remaining_tokens"] = float(rng.randrange(90, 100))
    if actor.device.get("$web_vitals_enabled_server_side") is not None:
        props["$initial_person_info"] = {"r": "$direct", "u": f"https://{host}/"}
    if actor.idx % 2 == 0:  # session replay loaded on half the devices
        props.update({"$recording_status": "active", "$replay_sample_rate": None,
                      "$sdk_debug_replay_internal_buffer_length": rng.randrange(0, 40),
                      "$sdk_debug_replay_internal_buffer_size": rng.randrange(0, 120_000),
                      "$sdk_debug_current_session_duration": rng.randrange(0, SESSION_MS),
                      "$sdk_debug_session_start": ms - rng.randrange(0, SESSION_MS)})
    if actor.groups:
        props["$groups"] = dict(actor.groups)
    if actor.flags:
        active = [k for k, v in actor.flags.items() if v]
        props["$active_feature_flags"] = active
        for key in active:
            props["$feature/" + key] = actor.flags[key]
    return props


def server_properties(rng: random.Random, actor: Actor) -> dict[str, Any]:
    if actor.sdk == "python":
        props: dict[str, Any] = {"$lib": "posthog-python", "$lib_version": f"6.{rng.randrange(0, 8)}.{rng.randrange(0, 5)}",
                                 "$python_runtime": "CPython", "$python_version": "3.12.4",
                                 "$os": "Linux", "$os_version": "6.8.0-1021-aws"}
    else:
        props = {"$lib": "posthog-node", "$lib_version": f"5.{rng.randrange(0, 9)}.{rng.randrange(0, 4)}"}
    if actor.idx % 3 == 0:
        props["$geoip_disable"] = True
    if actor.groups:
        props["$groups"] = dict(actor.groups)
    if actor.flags and actor.idx % 2 == 0:  # send_feature_flags: off flags as false, active sorted
        for key, value in actor.flags.items():
            props["$feature/" + key] = value
        props["$active_feature_flags"] = sorted(k for k, v in actor.flags.items() if v)
    return props


def pageview_extras(rng: random.Random, actor: Actor, event: str, ms: int) -> dict[str, Any]:
    """`$pageview` and `$pageleave` extras: title, and the previous page's scroll statistics."""
    props: dict[str, Any] = {}
    if event == "$pageview":
        props["title"] = D.TITLES.get(actor.path, actor.path.strip("/").split("/")[-1].replace("-", " ").title())
    if actor.prev_path is not None or event == "$pageleave":
        height = rng.randrange(900, 9000)
        last = rng.randrange(0, height)
        mx = max(last, rng.randrange(0, height))
        props.update({
            "$prev_pageview_pathname": actor.prev_path or actor.path,
            "$prev_pageview_duration": round(rng.expovariate(1 / 40), 1),
            "$prev_pageview_last_scroll": last, "$prev_pageview_last_scroll_percentage": round(last / height, 4),
            "$prev_pageview_max_scroll": mx, "$prev_pageview_max_scroll_percentage": round(mx / height, 4),
            "$prev_pageview_last_content": last + 800, "$prev_pageview_last_content_percentage": round(min(1, (last + 800) / height), 4),
            "$prev_pageview_max_content": mx + 800, "$prev_pageview_max_content_percentage": round(min(1, (mx + 800) / height), 4),
        })
        if actor.pageview_id:
            props["$prev_pageview_id"] = actor.pageview_id
    return props


def _element(rng: random.Random, depth: int, is_target: bool, host: str) -> dict[str, Any]:
    tag = rng.choice(("a", "button")) if is_target else rng.choice(D.TAGS)
    classes = sorted(set(rng.sample(D.CLASSES, rng.randrange(0, 5))))
    el: dict[str, Any] = {"tag_name": tag}
    if is_target or rng.random() < 0.2:
        el["$el_text"] = rng.choice(D.BUTTON_TEXTS)
    if classes:
        el["classes"] = classes
        el["attr__class"] = " ".join(classes)
    if tag == "a":
        href = rng.choice(D.PATHS) if rng.random() < 0.8 else f"https://docs.{host}/guide"
        el["attr__href"] = href
    if rng.random() < 0.25:
        el["attr__id"] = f"{tag}-{rng.randrange(1, 400)}"
    if rng.random() < 0.15:
        el["attr__data-attr"] = rng.choice(("signup-cta", "nav-pricing", "save-insight", "cart-add"))
    if rng.random() < 0.1:
        el["attr__aria-label"] = rng.choice(D.BUTTON_TEXTS)
    el["nth_child"] = rng.randrange(1, 9)
    el["nth_of_type"] = rng.randrange(1, el["nth_child"] + 1)
    return el


def _chain(elements: list[dict[str, Any]], sort_keys: bool) -> str:
    parts = []
    for el in elements:
        head = el["tag_name"] + "".join("." + c for c in el.get("classes", ()))
        attrs: list[tuple[str, str]] = [(k, str(v)) for k, v in el.items() if k.startswith("attr__")]
        if "attr__id" in el:
            attrs.append(("attr_id", el["attr__id"]))
        if "attr__href" in el:
            attrs.append(("href", el["attr__href"][:2048]))
        attrs.append(("nth-child", str(el["nth_child"])))
        attrs.append(("nth-of-type", str(el["nth_of_type"])))
        if "$el_text" in el:
            attrs.append(("text", el["$el_text"][:400]))
        if sort_keys:
            attrs.sort()
        else:  # older SDKs: text, nth-child, nth-of-type, href, then attr__* unsorted
            order = {"text": 0, "nth-child": 1, "nth-of-type": 2, "href": 3}
            attrs.sort(key=lambda kv: order.get(kv[0], 4))
        body = "".join(f'{k}="{v.replace(chr(34), chr(92) + chr(34))}"' for k, v in attrs)
        parts.append(f"{head}:{body}")
    return ";".join(parts)


def autocapture(rng: random.Random, actor: Actor, event: str, max_depth: int = 14) -> dict[str, Any]:
    depth = rng.randrange(3, max_depth + 1)
    elements = [_element(rng, i, i == 0, actor.spec.host) for i in range(depth - 1)]
    elements.append({"tag_name": "body", "nth_child": 2, "nth_of_type": 1})
    props: dict[str, Any] = {"$event_type": "click" if event != "$autocapture" or rng.random() < 0.85
                             else rng.choice(("change", "submit")),
                             "$ce_version": 1, "$elements_chain": _chain(elements, rng.random() < 0.7)}
    text = elements[0].get("$el_text")
    if text:
        props["$el_text"] = text
    href = elements[0].get("attr__href", "")
    if href.startswith("https://"):
        props["$external_click_url"] = href
    if rng.random() < 0.4:  # teams not yet switched to chain-only also send $elements
        props["$elements"] = elements
    if rng.random() < 0.1:
        props["cta_variant"] = rng.choice(("a", "b"))
    return props


def exception(rng: random.Random, actor: Actor, large: bool) -> dict[str, Any]:
    if actor.sdk == "web":
        etype, value = rng.choice(D.EXCEPTIONS)
        frames = [{"platform": "web:javascript", "filename": rng.choice(D.JS_FILES),
                   "function": rng.choice(("?", "render", "onClick", "fetchData", "map", "dispatch")),
                   "in_app": rng.random() < 0.7, "lineno": rng.randrange(1, 40),
                   "colno": rng.randrange(1, 90000)} for _ in range(rng.randrange(3, 30 if large else 15))]
        mechanism = {"type": rng.choice(("onerror", "onunhandledrejection", "generic")),
                     "handled": False, "synthetic": False}
        chain = [{"type": etype, "value": value, "mechanism": mechanism,
                  "stacktrace": {"type": "raw", "frames": frames}}]
    else:
        chain = []
        for _ in range(rng.randrange(1, 4)):
            etype, value = rng.choice(D.PY_EXCEPTIONS)
            frames = []
            for _ in range(rng.randrange(4, 40 if large else 18)):
                module = rng.choice(D.PY_MODULES)
                at = rng.randrange(len(_SOURCE_LINES) - 5)
                lines = _SOURCE_LINES[at: at + 5]
                frame: dict[str, Any] = {
                    "platform": "python", "filename": module.replace(".", "/") + ".py",
                    "abs_path": "/app/" + module.replace(".", "/") + ".py", "module": module,
                    "function": rng.choice(("get", "post", "handle", "sync_person", "run", "_execute")),
                    "lineno": rng.randrange(1, 900), "in_app": module.startswith("app."),
                    "context_line": lines[2], "pre_context": list(lines[:2]), "post_context": list(lines[3:])}
                if large:
                    frame["vars"] = {f"v{i}": _text(rng, 8) for i in range(rng.randrange(2, 12))}
                frames.append(frame)
            chain.append({"type": etype, "value": value, "module": "builtins",
                          "mechanism": {"type": "generic", "handled": True, "synthetic": False},
                          "stacktrace": {"type": "raw", "frames": frames}})
    props: dict[str, Any] = {"$exception_list": chain, "$exception_level": "error"}
    if rng.random() < 0.2:
        props["$exception_fingerprint"] = f"{rng.getrandbits(64):016x}"
    return props


def ai_generation(rng: random.Random, ms: int, large: bool) -> dict[str, Any]:
    """`$ai_generation`: the whole prompt and answer; the biggest events in the stream."""
    provider, model = rng.choice(D.AI_MODELS)
    scale = 6 if large else 1
    turns = rng.randrange(1, 4 + 3 * scale)
    ai_input: list[dict[str, Any]] = [{"role": "system", "content": _text(rng, int(rng.expovariate(1 / (120 * scale))))}]
    for i in range(turns):
        role = "user" if i % 2 == 0 else "assistant"
        if role == "user" and rng.random() < 0.2:
            content: Any = [{"type": "text", "text": _text(rng, int(rng.expovariate(1 / (150 * scale))))},
                            {"type": "image_url", "image_url": {"url": f"https://files.example.ai/{uuid4(rng)}.png"}}]
        else:
            content = _text(rng, int(rng.expovariate(1 / (200 * scale))))
        ai_input.append({"role": role, "content": content})
    output = [{"role": "assistant", "content": _text(rng, int(rng.expovariate(1 / (250 * scale))))}]
    in_tokens = sum(len(str(m["content"])) for m in ai_input) // 4
    props: dict[str, Any] = {
        "$ai_trace_id": uuid4(rng), "$ai_span_id": uuid4(rng), "$ai_provider": provider, "$ai_model": model,
        "$ai_model_parameters": {"temperature": rng.choice((0, 0.2, 0.7, 1.0)), "max_tokens": rng.choice((512, 1024, 4096)),
                                 "stream": rng.random() < 0.5},
        "$ai_input": ai_input, "$ai_output_choices": output,
        "$ai_input_tokens": in_tokens, "$ai_output_tokens": len(output[0]["content"]) // 4,
        "$ai_cache_read_input_tokens": rng.choice((0, 0, in_tokens // 2)),
        "$ai_cache_creation_input_tokens": 0, "$ai_reasoning_tokens": rng.choice((0, 0, rng.randrange(50, 2000))),
        "$ai_latency": round(rng.expovariate(1 / 3.5), 3), "$ai_time_to_first_token": round(rng.expovariate(1 / 0.6), 3),
        "$ai_stream": rng.random() < 0.5, "$ai_http_status": 200,
        "$ai_base_url": f"https://api.{provider}.com/v1", "$ai_request_url": f"https://api.{provider}.com/v1/chat/completions",
    }
    if rng.random() < 0.3:
        props["$ai_session_id"] = uuid4(rng)
        props["$ai_span_name"] = rng.choice(("plan", "answer", "summarize", "tool_call"))
        props["$ai_parent_id"] = props["$ai_trace_id"]
    if rng.random() < 0.25:
        props["$ai_tools"] = [{"type": "function", "function": {"name": f"tool_{i}", "description": _text(rng, 12),
                               "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}
                              for i in range(rng.randrange(1, 6))]
    if rng.random() < 0.04:
        props["$ai_is_error"] = True
        props["$ai_error"] = "rate_limit_exceeded: " + _text(rng, 10)
        props["$ai_http_status"] = 429
    return props


def heatmap(rng: random.Random, actor: Actor, large: bool) -> dict[str, Any]:
    url = f"https://{actor.spec.host}{actor.path}"
    points = []
    for _ in range(rng.randrange(1, 120 if large else 30)):
        kind = rng.choices(("click", "rageclick", "deadclick", "mousemove"), weights=(20, 2, 3, 75))[0]
        points.append({"x": rng.randrange(0, actor.device.get("$viewport_width", 1400)),
                       "y": rng.randrange(0, 6000), "target_fixed": rng.random() < 0.1, "type": kind})
    data = {url: points}
    if rng.random() < 0.1:
        data[f"https://{actor.spec.host}/"] = points[: len(points) // 2]
    return {"$heatmap_data": data}


def feature_flag_called(rng: random.Random, actor: Actor, ms: int) -> dict[str, Any]:
    key = rng.choice(D.FLAG_KEYS)
    response = actor.flags.get(key, rng.choice(D.FLAG_VARIANTS))
    props: dict[str, Any] = {
        "$feature_flag": key, "$feature_flag_response": response,
        "$feature_flag_payload": None if rng.random() < 0.7 else {"copy": _text(rng, 6), "limit": rng.randrange(1, 100)},
        "$feature_flag_request_id": uuid4(rng), "$feature_flag_evaluated_at": ms - rng.randrange(0, 600_000),
        "$feature_flag_bootstrapped_response": None, "$feature_flag_bootstrapped_payload": None,
        "$used_bootstrap_value": False, "$feature/" + key: response,
    }
    if rng.random() < 0.6:
        props.update({"$feature_flag_version": rng.randrange(1, 30), "$feature_flag_id": rng.randrange(1000, 99999),
                      "$feature_flag_reason": rng.choice(("Matched condition set 1", "No matching condition set",
                                                          "Rolled out to 50%"))})
    return props


def web_vitals(rng: random.Random, actor: Actor, ms: int) -> dict[str, Any]:
    props: dict[str, Any] = {}
    url = f"https://{actor.spec.host}{actor.path}"
    for metric in rng.sample(("LCP", "CLS", "FCP", "INP"), rng.randrange(1, 5)):
        value = round(rng.expovariate(1 / 0.08), 4) if metric == "CLS" else round(rng.expovariate(1 / 1800), 1)
        props[f"$web_vitals_{metric}_value"] = value
        props[f"$web_vitals_{metric}_event"] = {
            "name": metric, "value": value, "delta": value, "rating": rng.choice(("good", "needs-improvement", "poor")),
            "id": f"v5-{ms}-{rng.randrange(10**12)}", "navigationType": "navigate", "entries": [],
            "$current_url": url, "$session_id": actor.session_id, "$window_id": actor.window_id, "timestamp": ms}
    return props


def person_updates(rng: random.Random, actor: Actor, ms: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Typical `$set` (email, name, plan…) and `$set_once` (signup date, first URL)."""
    first = rng.choice(D.FIRST_NAMES)
    set_: dict[str, Any] = {}
    if rng.random() < 0.8:
        set_["email"] = actor.current_id if "@" in actor.current_id else f"{first.lower()}{actor.idx}@{rng.choice(D.EMAIL_DOMAINS)}"
        set_["name"] = f"{first} {rng.choice(D.LAST_NAMES)}"
    for key in rng.sample(("plan", "company", "role", "seats", "last_active_at"), rng.randrange(0, 4)):
        set_[key] = {"plan": rng.choice(D.PLANS), "company": rng.choice(D.COMPANIES).title(), "role": rng.choice(D.ROLES),
                     "seats": rng.randrange(1, 200), "last_active_at": date_like(rng, ms)}[key]
    set_once: dict[str, Any] = {}
    if rng.random() < 0.6:
        set_once["signup_date"] = date_like(rng, ms - rng.randrange(0, 30 * DAY_MS))
        set_once["first_url"] = f"https://{actor.spec.host}{rng.choice(D.PATHS)}"
    return set_, set_once


def initial_set_once(actor: Actor) -> dict[str, Any]:
    """The first person-processed browser event's `$set_once` (`$initial_*` from the session entry)."""
    sp = actor.session_props
    out = {"$initial_referrer": sp.get("$referrer", "$direct"),
           "$initial_referring_domain": sp.get("$referring_domain", "$direct"),
           "$initial_current_url": sp.get("$session_entry_url", ""),
           "$initial_host": actor.spec.host, "$initial_pathname": sp.get("$session_entry_pathname", "/")}
    for key in ("utm_source", "utm_medium", "utm_campaign", "utm_term", "gclid"):
        if key in sp:
            out["$initial_" + key] = sp[key]
    return out
