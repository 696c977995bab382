"""The earlier `from myagent.logger import logger`: the package's standard-library logger.

It was a loguru logger writing files under the working directory; this one is the plain
`logging.getLogger("myagent")` (no file, no handler of its own), so `logger.info(...)`,
`.warning`, `.error`, `.debug` and `.exception` calls keep working and go wherever the
application's logging configuration sends them.
"""

import logging

logger = logging.getLogger("myagent")

__all__ = ["logger"]
