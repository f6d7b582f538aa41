"""Settings from the environment (12-factor).

With nothing set a newcomer gets the embedded default: a SQLite file under ``var/`` and Celery in eager mode.
``DATABASE_URL=postgres://...`` switches to PostgreSQL, ``CELERY_BROKER_URL=redis://...`` to a real broker and worker.
Production hardening lives in ``readerstudy.settings.production``.
"""
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)  # the embedded default keeps its SQLite file and media here

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

DEBUG = env.bool("DEBUG", default=False)
# An insecure key is only acceptable on a developer's machine; production refuses it (see production.py).
SECRET_KEY = env.str("SECRET_KEY", default="insecure-development-key-change-me-in-production-0123456789")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "readerstudy.admin_site.OperatorsAdminConfig",  # Django admin for superusers only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI assets served locally (no CDN)
    "axes",  # login rate limiting (docs/security.md)
    "csp",
    "readerstudy.studies",
    "readerstudy.reading",
    "readerstudy.batches",
    "readerstudy.results",
    "readerstudy.jobs",
    "readerstudy.protocol",  # migrations only (models moved to reading and studies)
    "readerstudy.gallery",
    "readerstudy.demo",
    "readerstudy.overview",  # the study home and New study pages: the top layer, nothing imports it
]

MIDDLEWARE = [
    "readerstudy.studies.middleware.BlindedResponseMiddleware",  # outermost: strips leaky headers from images
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "readerstudy.studies.middleware.AnonymousBodyLimitMiddleware",  # before anything reads the body (CSRF does)
    "readerstudy.studies.middleware.ControlCharacterMiddleware",
    "readerstudy.studies.operator.OperatorAccessMiddleware",  # a superuser outside their studies: audited, said
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: turns a lockout into its 429 response
]

ROOT_URLCONF = "readerstudy.urls"
WSGI_APPLICATION = "readerstudy.wsgi.application"

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
                "readerstudy.studies.context_processors.site",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The stock backend with a health check that needs no round trip while the connection is quiet.
    DATABASES["default"]["ENGINE"] = "readerstudy.db.postgresql"
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# PostgreSQL: prepare the reading hot path's statements once per connection. Off behind a pooler that hands one
# server session to several clients (PgBouncer in transaction mode), where a prepared statement may not be there.
DATABASES["default"]["PREPARED_STATEMENTS"] = env.bool("DB_PREPARED_STATEMENTS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "readerstudy.studies.auth.MaximumLengthValidator"},  # the login form's bound, in every other form
    {"NAME": "readerstudy.studies.tokens.RotateApiTokensOnPasswordChange"},  # a hook on every password change
]
# django-axes sees every authenticate() call (login page, admin login, API token): 5 failures for one username from
# one address lock that pair out for AXES_COOLOFF_MINUTES; a success resets the count. State lives in the database,
# so every gunicorn worker shares it.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",  # per-study roles (readerstudy/studies/permissions.py)
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
AXES_LOCKOUT_CALLABLE = "readerstudy.studies.auth.lockout_response"  # a page of the site, not axes' bare text
# Client addresses (axes, DRF's throttles): PROXY_COUNT is the number of proxies in front of gunicorn that set
# X-Forwarded-For (deploy/nginx.conf: one, which overwrites the header with the address it saw, so a client cannot
# plant one). With none, only REMOTE_ADDR counts: a header from the client is never believed. django-ipware counts
# the proxies *listed in* the header, i.e. all but the one talking to gunicorn.
PROXY_COUNT = env.int("PROXY_COUNT", default=env.int("AXES_IPWARE_PROXY_COUNT", default=0))
AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if PROXY_COUNT else ("REMOTE_ADDR",)
AXES_IPWARE_PROXY_COUNT = PROXY_COUNT - 1 if PROXY_COUNT else None
# API tokens: expire after API_TOKEN_TTL_HOURS (and are deleted at logout and on a password change); anonymous
# requests for a token are limited per client address across usernames.
API_TOKEN_TTL = timedelta(hours=env.int("API_TOKEN_TTL_HOURS", default=12))
API_TOKEN_REQUEST_RATE = env.str("API_TOKEN_REQUEST_RATE", default="20/min")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
# Media (the study images) is never served from a public path: the blinded image view streams it to members only.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "/media-not-served/"
# Per-process cache of the uncompressed images readers receive (readerstudy.studies.blinding): 64 MiB hold ~1,300
# 224x224 images, two full 600-image studies.
BLINDED_IMAGE_CACHE_BYTES = env.int("BLINDED_IMAGE_CACHE_BYTES", default=64 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # larger uploaded files are spooled to a temporary file
DATA_UPLOAD_MAX_MEMORY_SIZE = 5_242_880  # non-file body parts; a larger form or JSON body is refused
ANONYMOUS_MAX_BODY_BYTES = env.int("ANONYMOUS_MAX_BODY_BYTES", default=64 * 1024)  # login and token requests

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "readerstudy.studies.tokens.ExpiringTokenAuthentication",
    ],
    "NUM_PROXIES": PROXY_COUNT,
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "readerstudy.studies.schema.AutoSchema",  # nested InputSerializers get distinct names
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Bounded by the one body limit; deep nesting, lone surrogates and control characters refused (readerstudy/parsers)
    "DEFAULT_PARSER_CLASSES": ["readerstudy.parsers.BoundedJSONParser", "readerstudy.parsers.BoundedFormParser",
                               "readerstudy.parsers.BoundedMultiPartParser"],
    "EXCEPTION_HANDLER": "readerstudy.studies.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Reader study API",
    "DESCRIPTION": "Blinded real/fake reading of generated chest X-rays, batch import and results.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The error answers every operation shares, documented once (readerstudy/openapi.py); enums as drf-spectacular does.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "readerstudy.openapi.document_error_responses"],
}

# Celery: eager (in-process) unless a broker is configured.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# With a broker an import never runs inside a web request (no override: a 62 s import once held a web thread).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=None) or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=3600)
# A minute of grace before the hard limit, but never a zero or negative soft limit when the limit is short.
CELERY_TASK_SOFT_TIME_LIMIT = max(CELERY_TASK_TIME_LIMIT - 60, int(CELERY_TASK_TIME_LIMIT * 0.8))
# A message not acknowledged within the visibility timeout is redelivered: keep it longer than any task may run.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT * 2}
CELERY_TASK_DEFAULT_QUEUE = "default"
# Training and generation run on their own queue, one task at a time, each in a fresh child process so the time
# limits hold and a finished or killed job leaves the GPU free (worker: -Q gpu -P prefork -c 1 --max-tasks-per-child 1;
# safe because nothing imports torch before the fork, so no CUDA state is inherited).
CELERY_TASK_ROUTES = {"readerstudy.jobs.tasks.generate_and_import_task": {"queue": "gpu"}}

# Batch import limits (safe defaults; each can be raised from the environment).
BATCH_MAX_ZIP_BYTES = env.int("BATCH_MAX_ZIP_BYTES", default=1024 * 1024 * 1024)
BATCH_MAX_MEMBERS = env.int("BATCH_MAX_MEMBERS", default=5000)
BATCH_MAX_UNCOMPRESSED_BYTES = env.int("BATCH_MAX_UNCOMPRESSED_BYTES", default=4 * 1024 * 1024 * 1024)
BATCH_MAX_COMPRESSION_RATIO = env.int("BATCH_MAX_COMPRESSION_RATIO", default=100)
BATCH_MAX_IMAGE_PIXELS = env.int("BATCH_MAX_IMAGE_PIXELS", default=4096 * 4096)
# Without a broker (the embedded default) an import runs inside the upload request: its decoded pixels are capped
# (about 250 images of 1024x1024; 0: no cap, as with a worker).
BATCH_MAX_BATCH_PIXELS = env.int("BATCH_MAX_BATCH_PIXELS", default=0 if CELERY_BROKER_URL else 256 * 1024 * 1024)

# With a shared cache (CACHE_URL=redis://..., the Redis that already serves as Celery's broker will do), sessions
# are read from it in front of the database (cached_db): a cache read instead of a query on every request a reader's
# browser makes. A per-process cache would let a logout in one worker go unseen by the others, so without a shared
# cache sessions stay in the database alone.
CACHE_URL = env.str("CACHE_URL", default="")
SHARED_CACHE = CACHE_URL.startswith(("redis://", "rediss://"))
CACHES = {"default": environ.Env.cache_url_config(CACHE_URL) if CACHE_URL else {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SESSION_ENGINE = "django.contrib.sessions.backends." + ("cached_db" if SHARED_CACHE else "db")
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = False
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Content Security Policy (django-csp): scripts only from this origin (no inline script, no eval); inline styles are
# allowed (the results page and Swagger UI carry a <style> block), frames and plugins are not.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

DEMO_MODE = env.bool("DEMO_MODE", default=False)

# Generation jobs (readerstudy.jobs): where the data and the checkpoints a staff user may pick from live.
GENERATION_DATA_DIR = env.path("GENERATION_DATA_DIR", default=str(VAR_DIR / "demo" / "data"))
GENERATION_CHECKPOINT_ROOT = env.path("GENERATION_CHECKPOINT_ROOT", default=str(VAR_DIR / "demo" / "runs"))
GENERATION_DEVICE = env.str("GENERATION_DEVICE", default="auto")
GENERATION_TASK_TIME_LIMIT = env.int("GENERATION_TASK_TIME_LIMIT", default=4 * 3600)
# The soft limit comes first so the job can record why it stopped: a minute early, or a tenth for short limits.
GENERATION_TASK_SOFT_TIME_LIMIT = env.int(
    "GENERATION_TASK_SOFT_TIME_LIMIT",
    default=max(1, GENERATION_TASK_TIME_LIMIT - min(60, GENERATION_TASK_TIME_LIMIT // 10)))
# A running job whose worker has shown no sign of life for this long may be taken over by a redelivered message.
GENERATION_JOB_STALE_AFTER_S = env.int("GENERATION_JOB_STALE_AFTER_S", default=900)
# Without a broker (eager Celery, the default set-up) a generation job runs in a background thread of the web process,
# so the page that started it returns at once and its job page shows real progress (docs/generation.md). With a broker
# the gpu worker runs it. The tests turn it off (the job then runs inside the request, as eager Celery does).
GENERATION_RUN_IN_THREAD = env.bool("GENERATION_RUN_IN_THREAD", default=not CELERY_BROKER_URL)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}
