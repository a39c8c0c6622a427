"""Airflow's template macros, exposed to sqlfluff's Jinja templater as ``macros``.

sqlfluff loads each module of its ``library_path`` into the template context under
the module's name, so ``{{ macros.ds_add(ds, 1) }}`` renders as it does in Airflow.
"""

import json
import random
import time
import uuid
from datetime import datetime, timedelta

from airflow.sdk.execution_time.macros import datetime_diff_for_humans, ds_add, ds_format

__all__ = [
    "datetime",
    "datetime_diff_for_humans",
    "ds_add",
    "ds_format",
    "json",
    "random",
    "time",
    "timedelta",
    "uuid",
]
