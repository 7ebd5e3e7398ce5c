"""doc/api.md's microversion table is the list in vmctl/api/microversion.py."""

import pathlib
import re

from vmctl.api import microversion as mv

DOC = pathlib.Path(__file__).resolve().parents[3] / "doc" / "api.md"


def test_microversion_table_matches_the_list():
    rows = re.findall(r"^\| (2\.\d+) \| `([A-Z0-9_]+)` \|", DOC.read_text(), re.M)
    listed = [(value, name) for name, value in vars(mv).items()
              if name.isupper() and isinstance(value, str) and value in mv.VERSIONS
              and not name.startswith(("MIN_", "MAX_"))]
    assert rows == sorted(listed, key=lambda r: mv.parse(r[0]))
