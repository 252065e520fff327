"""`python -m trt_text_classifier` is the same as the `trt-text-classifier` command."""

from trt_text_classifier.cli import main

raise SystemExit(main())
