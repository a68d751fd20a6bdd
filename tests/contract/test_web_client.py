"""The frontend's typed client is generated from the API's OpenAPI document: regenerate it and
fail on any drift; and the web app type-checks in strict mode."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from api.openapi_docs import document

# Runs node (openapi-typescript, tsc) in subprocesses.
pytestmark = pytest.mark.integration

WEB = Path(__file__).resolve().parents[2] / "web"
BIN = WEB / "node_modules" / ".bin"


def _require_node() -> None:
    missing = shutil.which("node") is None or not (BIN / "openapi-typescript").exists()
    if missing:
        reason = "node and web/node_modules are needed (cd web && npm ci)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI must run the web checks")
        pytest.skip(reason)


def test_the_generated_client_matches_the_api(tmp_path: Path) -> None:
    _require_node()
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(document(), indent=2) + "\n", encoding="utf-8")
    types = tmp_path / "schema.d.ts"
    subprocess.run(
        [str(BIN / "openapi-typescript"), str(spec), "-o", str(types)],
        check=True,
        capture_output=True,
        cwd=WEB,
        timeout=120,
    )
    hint = "the API changed: run `npm run generate` in web/ and commit the result"
    assert (WEB / "openapi.json").read_text(encoding="utf-8") == spec.read_text("utf-8"), hint
    committed = (WEB / "src" / "api" / "schema.d.ts").read_text(encoding="utf-8")
    assert committed == types.read_text("utf-8"), hint


def test_the_web_app_type_checks_strictly() -> None:
    _require_node()
    config = json.loads((WEB / "tsconfig.json").read_text(encoding="utf-8"))
    assert config["compilerOptions"]["strict"] is True
    result = subprocess.run(
        [str(BIN / "tsc"), "--noEmit", "-p", str(WEB)],
        capture_output=True,
        text=True,
        cwd=WEB,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
