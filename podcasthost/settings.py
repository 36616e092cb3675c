"""Settings for podcasthost, read from environment variables with embedded defaults.

The defaults run everything on one machine with no account and no server to
install: SQLite and files under ``var/``, a local Redis started by ``make run``,
the ffmpeg binary shipped by the ``imageio-ffmpeg`` package. Each variable is
documented in README.md ("Settings"). A malformed value stops start-up with a
message naming the variable.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from podcasthost.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_required,
    env_str,
    env_url,
)
from podcasthost.services import DEFAULT_REDIS_URL, recorded_redis_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var"))).resolve()

DEBUG = env_bool("DEBUG", True)


def _secret_key() -> str:
    """The SECRET_KEY variable; in development a key generated once into var/.

    With DEBUG off a weak key stops start-up: the criteria of Django's check
    security.W009 (50+ characters, 5+ distinct, no ``django-insecure-`` prefix),
    https://docs.djangoproject.com/en/5.2/ref/checks/#security
    """
    key = env_str("SECRET_KEY")
    if key:
        if not DEBUG and (len(key) < 50 or len(set(key)) < 5 or key.startswith("django-insecure-")):
            raise ImproperlyConfigured(
                "Unexpected value of SECRET_KEY: with DEBUG off use 50+ random characters "
                "(5+ distinct, no 'django-insecure-' prefix), e.g. from "
                "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
            )
        return key
    if not DEBUG:
        env_required("SECRET_KEY", "it is required when DEBUG is off (use 50+ random characters)")
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting together must not write two different keys.
        try:
            with path.open("x") as f:
                f.write(secrets.token_urlsafe(50))
        except FileExistsError:
            pass
    return path.read_text().strip()


SECRET_KEY = _secret_key()

# The port of `make run`'s web server; the default public URL follows it.
PORT = env_int("PORT", 8000, minimum=1, maximum=65535)
PUBLIC_BASE_URL = env_url("PUBLIC_BASE_URL", f"http://127.0.0.1:{PORT}")
CLOUDFRONT_DOMAIN = env_str("CLOUDFRONT_DOMAIN")
CLOUDFRONT_DISTRIBUTION_ID = env_str("CLOUDFRONT_DISTRIBUTION_ID")
FEED_BASE_URL = env_url(
    "FEED_BASE_URL", f"https://{CLOUDFRONT_DOMAIN}" if CLOUDFRONT_DOMAIN else PUBLIC_BASE_URL
)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    env_required("ALLOWED_HOSTS", "it is required when DEBUG is off (comma-separated host names)")
# In production only an explicitly set PUBLIC_BASE_URL is trusted, never the
# development default; same-origin posts pass Django's Origin check without it.
CSRF_TRUSTED_ORIGINS = env_list(
    "CSRF_TRUSTED_ORIGINS", [PUBLIC_BASE_URL] if DEBUG or env_str("PUBLIC_BASE_URL") else []
)

INSTALLED_APPS = [
    "episodes.admin_site.CreatorsAdminConfig",  # django.contrib.admin, creators first
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "axes",
    "csp",
    "episodes",
    "feeds",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Public feeds skip sessions, auth, CSRF and messages: apps poll them constantly.
    "feeds.middleware.FeedFastPathMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "podcasthost.urls"
WSGI_APPLICATION = "podcasthost.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database() -> dict:
    url = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
    try:
        config = dj_database_url.parse(url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0))
    except ValueError as exc:
        raise ImproperlyConfigured(f"Unexpected value DATABASE_URL={url!r}: {exc}") from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        # WAL lets the web server read while a worker writes; the timeout makes
        # a writer wait for the lock instead of failing at once.
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Login throttling: django-axes, attempts recorded in the database ---
# https://django-axes.readthedocs.io/en/latest/4_configuration.html
# Its backend goes first: it refuses a locked-out login before any password check.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(seconds=env_int("LOGIN_LOCKOUT_SECONDS", 900, minimum=1))
# Locked: a username from one client address. Guessing stops, yet nobody can
# lock a creator out from everywhere by failing with their username.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Behind proxies the peer is the proxy: the client's address is in X-Forwarded-For.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
AXES_CLIENT_IP_CALLABLE = "podcasthost.client_ip.client_ip"
AXES_RESET_ON_SUCCESS = True  # a login clears the earlier typos
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
AXES_VERBOSE = False  # no banner on every start; failures and lockouts are still logged

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# In development WhiteNoise serves straight from the apps' static folders.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# --- Files: three named storages, local folders by default, S3 buckets on AWS ---
AWS_REGION = env_str("AWS_REGION", "us-east-1")
# None, not "": django-storages reads this setting name as its default endpoint.
AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL") or None
MEDIA_URL = "media/"


def _storage(alias: str, bucket_var: str, *, public: bool) -> dict:
    """One ``STORAGES`` entry: S3 when ``bucket_var`` is set, else a folder in var/."""
    bucket = env_str(bucket_var)
    if not bucket:
        base_url = {
            "uploads": None,
            "media": f"{PUBLIC_BASE_URL}/media/",
            "feeds": f"{FEED_BASE_URL}/",
        }[alias]
        return {
            "BACKEND": "podcasthost.storage.filesystem.FileSystemStorage",
            "OPTIONS": {"location": str(VAR_DIR / alias), "base_url": base_url},
        }
    options: dict = {
        "bucket_name": bucket,
        "region_name": AWS_REGION,
        # SigV4 and the regional virtual-hosted endpoint: browsers posting to a
        # presigned URL are never redirected, and every region accepts it.
        "signature_version": "s3v4",
        "addressing_style": "virtual",
        "file_overwrite": True,
        "default_acl": None,
    }
    if AWS_S3_ENDPOINT_URL:
        options["endpoint_url"] = AWS_S3_ENDPOINT_URL
        options["addressing_style"] = "path"
    if public:
        # Public objects are read through CloudFront, never with signed S3 URLs.
        options["querystring_auth"] = False
        if CLOUDFRONT_DOMAIN:
            options["custom_domain"] = CLOUDFRONT_DOMAIN
    return {"BACKEND": "podcasthost.storage.s3.S3Storage", "OPTIONS": options}


STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "files")},
    },
    # Hashed names in production (collectstatic writes the manifest; pages then
    # reference /static/feeds/site.<hash>.css, cached for a year by WhiteNoise);
    # plain names in development, where files are served from the apps' folders.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
    "uploads": _storage("uploads", "UPLOADS_BUCKET", public=False),
    "media": _storage("media", "MEDIA_BUCKET", public=True),
    "feeds": _storage("feeds", "FEEDS_BUCKET", public=True),
}

UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 2 * 1024**3, minimum=1)

# --- Importing a show from another host (episodes/importers/) ---
# Private and loopback addresses are refused unless allowed (on by default only
# in development, so a local server can be imported from); link-local (cloud
# metadata) addresses always are.
IMPORT_ALLOW_PRIVATE_HOSTS = env_bool("IMPORT_ALLOW_PRIVATE_HOSTS", DEBUG)
IMPORT_PARALLEL_DOWNLOADS = env_int("IMPORT_PARALLEL_DOWNLOADS", 4, minimum=1)
IMPORT_FEED_MAX_BYTES = env_int("IMPORT_FEED_MAX_BYTES", 50 * 1024**2, minimum=1024)
IMPORT_CONNECT_TIMEOUT_SECONDS = env_float("IMPORT_CONNECT_TIMEOUT_SECONDS", 10.0)
IMPORT_READ_TIMEOUT_SECONDS = env_float("IMPORT_READ_TIMEOUT_SECONDS", 60.0)
IMPORT_FEED_TIMEOUT_SECONDS = env_float("IMPORT_FEED_TIMEOUT_SECONDS", 60.0)
IMPORT_MEDIA_TIMEOUT_SECONDS = env_float("IMPORT_MEDIA_TIMEOUT_SECONDS", 6 * 3600.0)

# --- Transcoding ---
TRANSCODER = {
    "BACKEND": env_str("TRANSCODER_BACKEND", "episodes.transcoders.ffmpeg.FFmpegTranscoder"),
    "OPTIONS": {},
}
FFMPEG_BINARY = env_str("FFMPEG_BINARY")  # empty: the binary shipped by imageio-ffmpeg
MEDIACONVERT_ROLE_ARN = env_str("MEDIACONVERT_ROLE_ARN")
MEDIACONVERT_QUEUE_ARN = env_str("MEDIACONVERT_QUEUE_ARN")
MEDIACONVERT_ENDPOINT_URL = env_str("MEDIACONVERT_ENDPOINT_URL")
LOUDNESS_TARGET_LUFS = env_float("LOUDNESS_TARGET_LUFS", -16.0)
TRUE_PEAK_DBTP = env_float("TRUE_PEAK_DBTP", -1.0)
# No progress for this long: the run died; reconcile repairs it.
TRANSCODE_STALL_SECONDS = env_int("TRANSCODE_STALL_SECONDS", 900, minimum=60)
# A job still running this long after submission fails.
TRANSCODE_DEADLINE_SECONDS = env_int("TRANSCODE_DEADLINE_SECONDS", 6 * 3600, minimum=600)
SOURCE_MAX_DURATION_SECONDS = env_int("SOURCE_MAX_DURATION_SECONDS", 12 * 3600, minimum=1)

# --- Automatic draft transcripts (episodes/transcribers/) ---
TRANSCRIBER = {
    "BACKEND": env_str(
        "TRANSCRIBER_BACKEND", "episodes.transcribers.pocketsphinx.PocketSphinxTranscriber"
    ),
    "OPTIONS": {},
}
# How often beat follows running transcription jobs (Amazon Transcribe).
TRANSCRIPTION_POLL_SECONDS = env_int("TRANSCRIPTION_POLL_SECONDS", 30, minimum=5)
INGEST_QUEUE_URL = env_str("INGEST_QUEUE_URL")
INGEST_POLL_SECONDS = env_int("INGEST_POLL_SECONDS", 20, minimum=1)

# --- Transcripts (episodes/transcripts/) ---
# Largest transcript file accepted (admin upload, attach_transcript); bigger ones
# are refused before they are read.
TRANSCRIPT_MAX_BYTES = env_int("TRANSCRIPT_MAX_BYTES", 10 * 1024**2, minimum=1024)

# --- Feeds ---
FEED_PUBLISH_DELAY_SECONDS = env_int("FEED_PUBLISH_DELAY_SECONDS", 5, minimum=0)
FEED_STALE_REQUEST_SECONDS = env_int("FEED_STALE_REQUEST_SECONDS", 300, minimum=30)
FEED_CACHE_MAX_AGE = env_int("FEED_CACHE_MAX_AGE", 300, minimum=0)
FEED_SERVE_CACHE_SECONDS = env_int("FEED_SERVE_CACHE_SECONDS", 2, minimum=0)
# Scheduled episodes this close get a publish queued at their exact time (Celery eta);
# keep it well under the Redis visibility timeout (CELERY_TASK_TIME_LIMIT + 600 s).
FEED_SCHEDULE_HORIZON_SECONDS = env_int("FEED_SCHEDULE_HORIZON_SECONDS", 3600, minimum=60)
# The publish gate's HEAD of each new enclosure at its public URL (feeds.gate).
FEED_ENCLOSURE_CHECK_TIMEOUT_SECONDS = env_int(
    "FEED_ENCLOSURE_CHECK_TIMEOUT_SECONDS", 10, minimum=1
)
# Rendered <item> XML kept per process (feeds.rss.ItemCache); about 1.5 KB per episode.
FEED_ITEM_CACHE_MAX_BYTES = env_int("FEED_ITEM_CACHE_MAX_BYTES", 64 * 1024**2, minimum=0)
JOB_EVENTS_QUEUE_URL = env_str("JOB_EVENTS_QUEUE_URL")
JOB_EVENTS_POLL_SECONDS = env_int("JOB_EVENTS_POLL_SECONDS", 10, minimum=1)

# --- Telling the world: WebSub hub and podping, after each changed feed (off when unset) ---
WEBSUB_HUB_URL = env_url("WEBSUB_HUB_URL", "") if env_str("WEBSUB_HUB_URL") else ""
PODPING_URL = env_url("PODPING_URL", "") if env_str("PODPING_URL") else ""
PODPING_TOKEN = env_str("PODPING_TOKEN")
if PODPING_URL and not PODPING_TOKEN:
    env_required("PODPING_TOKEN", "podping needs its token when PODPING_URL is set")
# Seconds one outbound call (hub, podping, a webhook) may take before it is retried.
OUTBOUND_TIMEOUT_SECONDS = env_int("OUTBOUND_TIMEOUT_SECONDS", 10, minimum=1, maximum=120)

# --- Notifications: e-mail to a show's members, SNS on AWS, per-show webhooks ---
# The console backend prints mail on one machine; set EMAIL_BACKEND (and the
# EMAIL_* below) to send it, e.g. django.core.mail.backends.smtp.EmailBackend.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set only one of EMAIL_USE_TLS and EMAIL_USE_SSL.")
EMAIL_TIMEOUT = OUTBOUND_TIMEOUT_SECONDS
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "podcasthost <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EPISODE_EVENTS_TOPIC_ARN = env_str("EPISODE_EVENTS_TOPIC_ARN")
# Creators' webhooks may not target private or loopback addresses (SSRF);
# development and tests allow them, to reach a server on this machine.
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", DEBUG)
# --- The public site: show and episode pages, the embeddable player ---
SITE_PAGE_MAX_AGE = env_int("SITE_PAGE_MAX_AGE", 60, minimum=0)
SITE_EPISODES_PER_PAGE = env_int("SITE_EPISODES_PER_PAGE", 20, minimum=1, maximum=500)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _media_origins() -> list[str]:
    """Where covers and audio are fetched from, for the CSP's img-src and media-src."""
    origins = [_origin(PUBLIC_BASE_URL)]
    if CLOUDFRONT_DOMAIN:
        origins.append(f"https://{CLOUDFRONT_DOMAIN}")
    elif env_str("MEDIA_BUCKET"):
        origins.append(
            _origin(AWS_S3_ENDPOINT_URL)
            if AWS_S3_ENDPOINT_URL
            else f"https://{env_str('MEDIA_BUCKET')}.s3.{AWS_REGION}.amazonaws.com"
        )
    return origins


# A strict Content-Security-Policy (django-csp): scripts and styles from our
# static files only, never inline; nothing may frame a page except the embed
# routes, which widen frame-ancestors themselves. The admin keeps Django's own
# inline scripts, so it is left out. https://www.w3.org/TR/CSP3/
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/admin/"],
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *_media_origins()],
        "media-src": ["'self'", *_media_origins()],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "manifest-src": ["'self'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "object-src": ["'none'"],
    },
}
X_FRAME_OPTIONS = "DENY"

# --- Download analytics (feeds/analytics/) ---
CDN_LOGS_QUEUE_URL = env_str("CDN_LOGS_QUEUE_URL")
CDN_LOGS_POLL_SECONDS = env_int("CDN_LOGS_POLL_SECONDS", 60, minimum=1)
ANALYTICS_RAW_RETENTION_DAYS = env_int("ANALYTICS_RAW_RETENTION_DAYS", 7, minimum=2)
ANALYTICS_AGGREGATE_SECONDS = env_int("ANALYTICS_AGGREGATE_SECONDS", 300, minimum=10)

# --- Celery ---
# `make run` records the URL of the private Redis it started, so commands in
# another shell with the same VAR_DIR find it.
REDIS_URL = env_url(
    "REDIS_URL",
    recorded_redis_url(VAR_DIR) or DEFAULT_REDIS_URL,
    schemes=("redis", "rediss", "unix"),
)
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL", REDIS_URL, schemes=("redis", "rediss", "unix", "memory", "sqs")
)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 3 * 3600, minimum=60)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
# Redis redelivers an unacknowledged message after this; it must exceed the
# longest task (acks_late) so a running transcode is not started twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 600}
if FEED_SCHEDULE_HORIZON_SECONDS >= CELERY_TASK_TIME_LIMIT + 600:
    # An eta held past the visibility timeout is redelivered again and again.
    raise ImproperlyConfigured(
        "FEED_SCHEDULE_HORIZON_SECONDS must be below CELERY_TASK_TIME_LIMIT + 600 "
        "(the Redis visibility timeout)."
    )
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Every periodic task, in one place. Periodic passes over the database are
# sturdier than self-rescheduling countdowns, which Redis redelivers after
# its visibility timeout.
CELERY_BEAT_SCHEDULE = {
    "episodes: poll transcodes": {"task": "episodes.tasks.poll_transcodes", "schedule": 30.0},
    "episodes: reconcile": {"task": "episodes.tasks.reconcile", "schedule": 300.0},
    "episodes: poll transcriptions": {
        "task": "episodes.tasks.poll_transcriptions",
        "schedule": float(TRANSCRIPTION_POLL_SECONDS),
    },
    "episodes: reconcile transcriptions": {
        "task": "episodes.tasks.reconcile_transcriptions",
        "schedule": 300.0,
    },
    "episodes: resend lost notifications": {
        "task": "episodes.tasks.resend_lost_notifications",
        "schedule": 300.0,
    },
    # Every 30 s, so a scheduled episode appears within a minute of its publish_at.
    "feeds: publish due feeds": {"task": "feeds.tasks.publish_due_feeds", "schedule": 30.0},
}
# Raw download events → daily aggregates, then old events and salts deleted.
CELERY_BEAT_SCHEDULE["feeds: aggregate downloads"] = {
    "task": "feeds.tasks.aggregate_downloads",
    "schedule": float(ANALYTICS_AGGREGATE_SECONDS),
}
if CDN_LOGS_QUEUE_URL:
    CELERY_BEAT_SCHEDULE["consume CDN logs queue"] = {
        "task": "feeds.tasks.consume_cdn_logs",
        "schedule": float(CDN_LOGS_POLL_SECONDS),
    }
if INGEST_QUEUE_URL:
    CELERY_BEAT_SCHEDULE["consume ingest queue"] = {
        "task": "episodes.tasks.consume_ingest",
        "schedule": float(INGEST_POLL_SECONDS),
    }
if JOB_EVENTS_QUEUE_URL:
    CELERY_BEAT_SCHEDULE["consume job events queue"] = {
        "task": "episodes.tasks.consume_job_events",
        "schedule": float(JOB_EVENTS_POLL_SECONDS),
    }

# --- Production hardening (``manage.py check --deploy`` is clean with DEBUG=0) ---
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    # The header alone lists nothing: browsers preload a domain only after its
    # owner submits it at hstspreload.org.
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env_bool("SECURE_PROXY_SSL_HEADER", False):
        # Behind a load balancer that terminates TLS and sets X-Forwarded-Proto.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
