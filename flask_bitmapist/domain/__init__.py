"""The pure core: value objects, calendar math, expressions, the cohort engine, the port.

Imports only the standard library, attrs and numpy; never a web framework or a storage
driver, and never reads the clock (callers pass ``now``).
"""

from __future__ import annotations

from flask_bitmapist.domain.bitmap import Bitmap
from flask_bitmapist.domain.cohort import (
    DEFAULT_MAX_COHORT_CELLS,
    MAX_COLS,
    MAX_ROWS,
    Cohort,
    CohortMode,
    CohortSpec,
)
from flask_bitmapist.domain.engine import CohortEngine
from flask_bitmapist.domain.errors import (
    BitmapistError,
    InvalidAnswerSpec,
    InvalidCohortSpec,
    InvalidEventName,
    InvalidExpression,
    InvalidMoment,
    InvalidRetention,
    InvalidStorageConfig,
    InvalidTimeGroup,
    InvalidTimestamp,
    InvalidUserId,
    InvalidUserIdType,
    MomentOutOfRange,
    PeriodsExpired,
    StorageUnavailable,
)
from flask_bitmapist.domain.events import (
    DEFAULT_MAX_USER_ID,
    REDIS_MAX_USER_ID,
    BitmapId,
    Mark,
    validate_event_name,
    validate_stored_event_name,
    validate_user_id,
)
from flask_bitmapist.domain.expressions import (
    DEFAULT_MAX_EXPRESSION_TERMS,
    MAX_EXPRESSION_DEPTH,
    MAX_EXPRESSION_LENGTH,
    And,
    EventRef,
    Expression,
    Not,
    Or,
    parse_chain,
    parse_expression,
)
from flask_bitmapist.domain.funnel import MAX_STEPS, MIN_STEPS, Funnel, FunnelEngine, FunnelSpec
from flask_bitmapist.domain.history import FirstEver, first_ever_events, first_ever_users
from flask_bitmapist.domain.ids import (
    ExternalId,
    IdMapper,
    decode_external_id,
    encode_external_id,
    external_id_text,
)
from flask_bitmapist.domain.lifecycle import (
    Lifecycle,
    LifecycleEngine,
    LifecycleSpec,
    LifecycleStatus,
)
from flask_bitmapist.domain.periods import (
    MAX_YEAR,
    MIN_YEAR,
    UTC,
    Period,
    TimeGroup,
    as_utc,
    localize,
    zone_name,
    zone_of,
)
from flask_bitmapist.domain.repository import (
    MARK_CHUNK_SIZE,
    BitmapRepository,
    EventListing,
    contains_ignoring_ascii_case,
)
from flask_bitmapist.domain.retention import MAX_DAYS_KEPT, NO_RETENTION, RetentionPolicy
from flask_bitmapist.domain.stickiness import Stickiness, StickinessEngine, StickinessSpec
from flask_bitmapist.domain.timestamps import parse_timestamp
from flask_bitmapist.domain.trend import (
    MAX_ROLLING,
    MAX_SERIES,
    Trend,
    TrendEngine,
    TrendSeries,
    TrendSpec,
)
from flask_bitmapist.domain.window import MAX_HOURS, MAX_PERIODS, Window

__all__ = [
    "DEFAULT_MAX_COHORT_CELLS",
    "DEFAULT_MAX_EXPRESSION_TERMS",
    "DEFAULT_MAX_USER_ID",
    "MARK_CHUNK_SIZE",
    "MAX_COLS",
    "MAX_DAYS_KEPT",
    "MAX_EXPRESSION_DEPTH",
    "MAX_EXPRESSION_LENGTH",
    "MAX_HOURS",
    "MAX_PERIODS",
    "MAX_ROLLING",
    "MAX_ROWS",
    "MAX_SERIES",
    "MAX_STEPS",
    "MAX_YEAR",
    "MIN_STEPS",
    "MIN_YEAR",
    "NO_RETENTION",
    "REDIS_MAX_USER_ID",
    "UTC",
    "And",
    "Bitmap",
    "BitmapId",
    "BitmapRepository",
    "BitmapistError",
    "Cohort",
    "CohortEngine",
    "CohortMode",
    "CohortSpec",
    "EventListing",
    "EventRef",
    "Expression",
    "ExternalId",
    "FirstEver",
    "Funnel",
    "FunnelEngine",
    "FunnelSpec",
    "IdMapper",
    "InvalidAnswerSpec",
    "InvalidCohortSpec",
    "InvalidEventName",
    "InvalidExpression",
    "InvalidMoment",
    "InvalidRetention",
    "InvalidStorageConfig",
    "InvalidTimeGroup",
    "InvalidTimestamp",
    "InvalidUserId",
    "InvalidUserIdType",
    "Lifecycle",
    "LifecycleEngine",
    "LifecycleSpec",
    "LifecycleStatus",
    "Mark",
    "MomentOutOfRange",
    "Not",
    "Or",
    "Period",
    "PeriodsExpired",
    "RetentionPolicy",
    "Stickiness",
    "StickinessEngine",
    "StickinessSpec",
    "StorageUnavailable",
    "TimeGroup",
    "Trend",
    "TrendEngine",
    "TrendSeries",
    "TrendSpec",
    "Window",
    "as_utc",
    "contains_ignoring_ascii_case",
    "decode_external_id",
    "encode_external_id",
    "external_id_text",
    "first_ever_events",
    "first_ever_users",
    "localize",
    "parse_chain",
    "parse_expression",
    "parse_timestamp",
    "validate_event_name",
    "validate_stored_event_name",
    "validate_user_id",
    "zone_name",
    "zone_of",
]
