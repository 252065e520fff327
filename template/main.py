"""Flex Template entry file (FLEX_TEMPLATE_PYTHON_PY_FILE): start the job, do not wait for it."""

import logging
import sys

from trt_text_classifier.commands.run import launch_template

if __name__ == "__main__":
    logging.getLogger().setLevel(logging.INFO)
    sys.exit(launch_template(sys.argv[1:]))
