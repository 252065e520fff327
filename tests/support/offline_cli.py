"""`trt-text-classifier` as a script for subprocess tests against the GCS emulator.

Like `emulators.offline_google_auth` in the test process: Beam's credential
holder is seeded with "no credentials", so the job talks to the emulator
anonymously instead of retrying `google.auth.default` for about 30 s.
"""

from __future__ import annotations

import sys

from apache_beam.internal.gcp import auth

from trt_text_classifier.cli import main

if __name__ == "__main__":
    auth._Credentials._credentials_init = True
    auth._Credentials._credentials = None
    sys.exit(main(sys.argv[1:]))
