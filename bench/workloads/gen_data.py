"""Value pools for the generator (all invented; shapes follow docs/workloads.md and event-shapes)."""

from __future__ import annotations

# (os, os_version, browser, browser_version, device, device_type, user agent template, weight)
DEVICES = (
    ("Mac OS X", "10.15.7", "Chrome", 138, None, "Desktop",
     "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36", 24),
    ("Windows", "10.0", "Chrome", 137, None, "Desktop",
     "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/137.0.0.0 Safari/537.36", 22),
    ("Windows", "10.0", "Microsoft Edge", 138, None, "Desktop",
     "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36 Edg/138.0.0.0", 8),
    ("iOS", "18.3.1", "Mobile Safari", 18.3, "iPhone", "Mobile",
     "Mozilla/5.0 (iPhone; CPU iPhone OS 18_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.3 Mobile/15E148 Safari/604.1", 16),
    ("Android", "14", "Chrome", 137, "Android", "Mobile",
     "Mozilla/5.0 (Linux; Android 14; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/137.0.0.0 Mobile Safari/537.36", 12),
    ("Mac OS X", "10.15.7", "Safari", 18.5, None, "Desktop",
     "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Safari/605.1.15", 7),
    ("Linux", "", "Firefox", 140, None, "Desktop",
     "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0", 4),
    ("iOS", "17.6.1", "Chrome iOS", 138, "iPad", "Tablet",
     "Mozilla/5.0 (iPad; CPU OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/138.0.7204.119 Mobile/15E148 Safari/604.1", 3),
    ("Android", "13", "Samsung Internet", 28, "Android", "Mobile",
     "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/28.0 Chrome/130.0.0.0 Mobile Safari/537.36", 3),
    ("Chrome OS", "16181.61.0", "Chrome", 136, None, "Desktop",
     "Mozilla/5.0 (X11; CrOS x86_64 16181.61.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/136.0.0.0 Safari/537.36", 1),
)
SCREENS = {
    "Desktop": ((1920, 1080), (1728, 1117), (2560, 1440), (1440, 900), (1366, 768), (1512, 982)),
    "Mobile": ((390, 844), (393, 852), (430, 932), (412, 915), (360, 800)),
    "Tablet": ((820, 1180), (1024, 1366), (810, 1080)),
}
# (IANA zone, UTC minus local in minutes, language)
TIMEZONES = (
    ("America/New_York", 300, "en-US"), ("America/Los_Angeles", 480, "en-US"), ("Europe/London", 0, "en-GB"),
    ("Europe/Berlin", -60, "de-DE"), ("Europe/Paris", -60, "fr-FR"), ("Asia/Kolkata", -330, "en-IN"),
    ("Asia/Tokyo", -540, "ja-JP"), ("America/Sao_Paulo", 180, "pt-BR"), ("Australia/Sydney", -660, "en-AU"),
    ("Europe/Madrid", -60, "es-ES"), ("America/Chicago", 360, "en-US"), ("Europe/Warsaw", -60, "pl-PL"),
)
REFERRERS = (
    ("$direct", "$direct", 40), ("https://www.google.com/", "www.google.com", 25),
    ("https://duckduckgo.com/", "duckduckgo.com", 4), ("https://t.co/", "t.co", 4),
    ("https://www.linkedin.com/", "www.linkedin.com", 4), ("https://news.ycombinator.com/", "news.ycombinator.com", 3),
    ("https://www.bing.com/", "www.bing.com", 3), ("https://github.com/", "github.com", 3),
    ("https://mail.google.com/", "mail.google.com", 2), ("https://www.reddit.com/", "www.reddit.com", 2),
)
UTM_SOURCES = ("google", "newsletter", "twitter", "linkedin", "facebook", "partner", "producthunt")
UTM_MEDIUMS = ("cpc", "email", "social", "referral", "display", "affiliate")
UTM_CAMPAIGNS = ("spring_sale_2026", "launch-week", "brand_search", "retargeting_q4", "webinar_oct",
                 "free-trial", "black_friday_2026")
PATHS = ("/", "/pricing", "/docs", "/docs/getting-started", "/docs/api/capture", "/blog",
         "/blog/how-we-scaled-ingestion", "/signup", "/login", "/dashboard", "/dashboard/insights",
         "/settings/project", "/product/analytics", "/product/session-replay", "/customers",
         "/careers", "/about", "/changelog", "/checkout", "/cart", "/search", "/account/billing")
TITLES = {"/": "Home", "/pricing": "Pricing", "/docs": "Documentation", "/signup": "Sign up",
          "/login": "Log in", "/dashboard": "Dashboard", "/checkout": "Checkout", "/cart": "Your cart",
          "/blog": "Blog"}
SEARCH_TERMS = ("pricing", "api key", "export csv", "sso", "invoice", "dark mode", "webhooks", "refund")
FIRST_NAMES = ("Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jo", "Kai", "Lena",
               "Mo", "Nia", "Omar", "Pia", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Vik", "Wen", "Yusuf")
LAST_NAMES = ("Silva", "Okafor", "Novak", "Kim", "Rossi", "Haddad", "Berg", "Tanaka", "Moreau", "Patel",
              "Jensen", "Alvarez", "Kowalski", "Nguyen")
EMAIL_DOMAINS = ("example.com", "example.org", "mail.example.net", "acme.example", "corp.example.io")
PLANS = ("free", "pro", "team", "enterprise", "startup")
ROLES = ("engineer", "designer", "founder", "pm", "marketing", "support", "data")
COMPANIES = ("acme", "globex", "initech", "umbrella", "hooli", "vandelay", "stark", "wayne", "wonka",
             "cyberdyne", "tyrell", "soylent", "oscorp", "aperture", "blackmesa", "monarch")
TAGS = ("a", "button", "div", "span", "li", "ul", "nav", "section", "header", "main", "form", "input",
        "label", "svg", "img", "p", "h2")
CLASSES = ("btn", "btn-primary", "btn-secondary", "card", "nav-link", "menu-item", "flex", "items-center",
           "gap-2", "px-4", "py-2", "rounded", "text-sm", "font-medium", "hero", "container", "grid",
           "LemonButton", "LemonButton--primary", "sidebar", "active", "disabled", "icon")
BUTTON_TEXTS = ("Sign up", "Log in", "Get started", "Save", "Cancel", "Continue", "Add to cart",
                "Buy now", "Learn more", "Next", "Submit", "Delete", "Invite teammate", "Export")
CUSTOM_EVENTS = {
    "web": ("signed_up", "clicked_cta", "viewed_pricing_table", "search_performed", "video_played",
            "form_submitted", "added_to_cart", "checkout_started"),
    "saas": ("insight_created", "dashboard_viewed", "query_run", "export_started", "invite_sent",
             "billing_plan_changed", "api_key_created", "recording_viewed"),
    "ai": ("chat_message_sent", "completion_rated", "document_uploaded", "agent_run_finished",
           "tool_called", "subscription_renewed", "workspace_created", "prompt_saved"),
    "shop": ("order_placed", "product_viewed", "coupon_applied", "wishlist_added", "review_written",
             "payment_failed", "refund_requested", "shipment_tracked"),
}
FLAG_KEYS = ("new-onboarding", "pricing-page-v2", "beta-dashboards", "checkout-experiment",
             "ai-assistant", "dark-mode", "session-replay-sampling", "bulk-export")
FLAG_VARIANTS = (True, False, "control", "test", "variant-a", "variant-b")
EXCEPTIONS = (
    ("TypeError", "Cannot read properties of undefined (reading 'map')"),
    ("ReferenceError", "posthog is not defined"),
    ("Error", "Network request failed"),
    ("ChunkLoadError", "Loading chunk 412 failed."),
    ("SyntaxError", "Unexpected token '<', \"<!DOCTYPE \"... is not valid JSON"),
    ("RangeError", "Maximum call stack size exceeded"),
)
PY_EXCEPTIONS = (
    ("KeyError", "'user_id'"), ("ValueError", "invalid literal for int() with base 10: 'abc'"),
    ("ConnectionError", "HTTPSConnectionPool(host='api.example.com', port=443): Max retries exceeded"),
    ("IntegrityError", "duplicate key value violates unique constraint \"posthog_person_pkey\""),
    ("TimeoutError", "timed out after 30.0 seconds"),
)
JS_FILES = ("https://shop.example.com/static/chunks/main-3f9a1c.js",
            "https://shop.example.com/static/chunks/vendor-7be210.js",
            "https://app.example.io/assets/index-Dk2p9aQ1.js")
PY_MODULES = ("app.views.billing", "app.services.sync", "app.models.person", "app.tasks.export",
              "django.core.handlers.base", "requests.adapters", "celery.app.trace")
AI_MODELS = (("openai", "gpt-4o-mini"), ("openai", "gpt-4.1"), ("anthropic", "claude-sonnet-4"),
             ("anthropic", "claude-3-5-haiku"), ("gemini", "gemini-2.5-flash"), ("litellm", "llama-3.1-70b"))
WORDS = (
    "the", "a", "to", "of", "and", "in", "is", "for", "that", "with", "on", "you", "it", "this", "be",
    "can", "data", "user", "event", "query", "please", "summarize", "following", "report", "customer",
    "revenue", "growth", "chart", "table", "function", "return", "error", "value", "string", "number",
    "explain", "why", "how", "what", "should", "would", "could", "improve", "performance", "latency",
    "partition", "batch", "throughput", "pipeline", "person", "merge", "identify", "session", "replay",
    "dashboard", "insight", "cohort", "funnel", "retention", "trend", "weekly", "monthly", "daily",
    "increase", "decrease", "percent", "compare", "last", "quarter", "email", "draft", "reply", "ticket",
    "refund", "order", "invoice", "product", "feature", "flag", "rollout", "experiment", "variant",
    "control", "significant", "result", "analysis", "step", "first", "then", "finally", "because",
    "however", "therefore", "example", "code", "python", "typescript", "sql", "select", "from", "where",
    "group", "by", "count", "sum", "avg", "join", "limit", "order", "desc", "timestamp", "distinct_id",
)
ILLEGAL_IDS = ("anonymous", "guest", "distinct_id", "id", "not_authenticated", "email", "undefined",
               "true", "false", "null", "NaN", "[object Object]", "0", '"null"', "'undefined'")
