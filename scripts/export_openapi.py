"""Writes the management API's OpenAPI 3.1 document (`make openapi` -> docs/openapi.json)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "shared"))
# Importing the API binds the pynamodb models; names are irrelevant for the document.
for variable in ("ITEMS_TABLE", "AUTOMATION_TABLE", "TENANTS_TABLE"):
    os.environ.setdefault(variable, "unused")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")

from crm.api import openapi_json  # noqa: E402

target = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs" / "openapi.json")
target.parent.mkdir(parents=True, exist_ok=True)
target.write_text(openapi_json() + "\n")
print(f"wrote {target}")
