"""Hatch build hook: build the viewer UI (web/, Vite) into the package when it is missing.

So installing from source (`pip install .` or `-e .`) gives a working viewer; a wheel
then carries the built files and needs no Node at run time. Skipped when the UI is
already built, when web/ is absent (building from a wheel-only tree), or with
MYAGENT_SKIP_WEB_BUILD=1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class WebBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Runs `npm ci && npm run build` in web/ before a wheel is built."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        index = root / "src" / "myagent" / "trace" / "viewer" / "static" / "index.html"
        web = root / "web"
        if self.target_name != "wheel" or index.exists() or not (web / "package.json").exists():
            return
        if os.environ.get("MYAGENT_SKIP_WEB_BUILD"):
            return
        npm = shutil.which("npm")
        if npm is None:
            print("myagent: npm not found; the trace viewer UI is not built", file=sys.stderr)
            return
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=web, check=True)
        subprocess.run([npm, "run", "build"], cwd=web, check=True)
