"""Column types shared by the models and the migrations.

MySQL/MariaDB keep DATETIME to whole seconds and FLOAT in single precision
unless told otherwise; these variants keep microseconds (ordering of
actions and events) and double precision (allocation ratios) everywhere.
"""

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
Ratio = sa.Double()
