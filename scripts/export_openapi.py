"""Writes the management API's OpenAPI 3.1 document (`make openapi`): docs/openapi.json, and the
copy in the layer that the API function serves at /openapi.json and /docs (crm/api/openapi.json).
With paths as arguments, it writes those instead."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "shared"))
# Importing the API binds the pynamodb models; names are irrelevant for the document.
for variable in ("ITEMS_TABLE", "AUTOMATION_TABLE", "TENANTS_TABLE", "RUNS_TABLE"):
    os.environ.setdefault(variable, "unused")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")

from crm.api import openapi_json  # noqa: E402
from crm.api.document import DOCUMENT  # noqa: E402

text = openapi_json() + "\n"
for target in [Path(arg) for arg in sys.argv[1:]] or [ROOT / "docs" / "openapi.json", DOCUMENT]:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    print(f"wrote {target}")
